using System.Text;
using static Tensorium.Kernels.Gpu.Cuda.CudaApi;

namespace Tensorium.Kernels.Gpu.Cuda;

/// <summary>
/// One CUDA device through the driver API: its primary context (shared with any other CUDA code
/// in the process, made current at the start of every call, so any thread may use the runtime),
/// the legacy default stream (launches run in order; reads wait for them), and modules compiled
/// from the shared kernel source by NVRTC for the device's compute capability.
/// </summary>
public sealed unsafe class CudaRuntime : GpuRuntime
{
    private readonly int _device;
    private readonly nint _context;
    private readonly List<nint> _modules = new();
    private readonly Lock _moduleLock = new();
    private bool _disposed;

    /// <summary>
    /// Opens CUDA device <paramref name="index"/> (in the driver's order), keeping compiled PTX
    /// in <paramref name="cache"/> (null: <see cref="ProgramCache.Default"/>). Throws
    /// <see cref="InvalidOperationException"/> when there is no usable driver and
    /// <see cref="ArgumentOutOfRangeException"/> when there is no such device.
    /// </summary>
    public CudaRuntime(int index, ProgramCache? cache = null) : base(cache)
    {
        if (UnavailableReason() is { } reason) throw new InvalidOperationException($"cuda:{index}: {reason}");
        int count = DeviceCount();
        if (index < 0 || index >= count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"cuda:{index}: only {count} CUDA device(s) are present.");
        int device;
        Check(DeviceGet(&device, index), "cuDeviceGet");
        _device = device;
        Info = Describe(device);
        ComputeCapability = (Attribute(device, AttrComputeCapabilityMajor), Attribute(device, AttrComputeCapabilityMinor));
        nint context;
        Check(DevicePrimaryCtxRetain(&context, device), $"cuDevicePrimaryCtxRetain(cuda:{index})");
        _context = context;
        Index = index;
    }

    /// <summary>The device's index in the driver's order.</summary>
    public int Index { get; }

    /// <summary>The device's compute capability, for example (8, 0) for an A100.</summary>
    public (int Major, int Minor) ComputeCapability { get; }

    /// <summary>The NVRTC --gpu-architecture kernels are compiled for: compute_XY of the device, clamped to what NVRTC supports.</summary>
    public string Architecture => Nvrtc.Architecture(ComputeCapability.Major, ComputeCapability.Minor);

    /// <inheritdoc />
    public override KernelDialect Dialect => KernelDialect.Cuda;

    /// <inheritdoc />
    public override GpuDeviceInfo Info { get; }

    /// <summary>Null when CUDA can be used (the driver loaded and cuInit succeeded), else why not ("no CUDA driver: ...").</summary>
    public static string? UnavailableReason() => CudaApi.UnavailableReason;

    /// <summary>How many CUDA devices the driver reports; 0 when CUDA is unavailable.</summary>
    public static int DeviceCount()
    {
        if (CudaApi.UnavailableReason != null) return 0;
        int count;
        return DeviceGetCount(&count) == Success ? count : 0;
    }

    /// <summary>What each CUDA device is, without opening it (no context is created); empty when CUDA is unavailable.</summary>
    public static IReadOnlyList<GpuDeviceInfo> DescribeDevices()
    {
        var list = new List<GpuDeviceInfo>();
        for (int i = 0, n = DeviceCount(); i < n; i++)
        {
            int device;
            Check(DeviceGet(&device, i), "cuDeviceGet");
            list.Add(Describe(device));
        }
        return list;
    }

    private static GpuDeviceInfo Describe(int device)
    {
        byte* name = stackalloc byte[256];
        Check(DeviceGetName(name, 256, device), "cuDeviceGetName");
        nuint memory;
        Check(DeviceTotalMem(&memory, device), "cuDeviceTotalMem_v2");
        int version = 0;
        if (DriverGetVersion != null) Check(DriverGetVersion(&version), "cuDriverGetVersion");
        return new GpuDeviceInfo(
            Name: System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)name) ?? $"CUDA device {device}",
            Vendor: "NVIDIA CUDA",
            GlobalMemoryBytes: (long)memory,
            ComputeUnits: Attribute(device, AttrMultiprocessorCount),
            MaxWorkGroupSize: Attribute(device, AttrMaxThreadsPerBlock),
            LocalMemoryBytes: Attribute(device, AttrMaxSharedMemoryPerBlock),
            SupportsDouble: true,
            IsCpu: false,
            Driver: $"CUDA {version / 1000}.{version % 1000 / 10} (sm_{Attribute(device, AttrComputeCapabilityMajor)}{Attribute(device, AttrComputeCapabilityMinor)})");
    }

    /// <summary>Makes this device's primary context current on the calling thread.</summary>
    private void Current()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Check(CtxSetCurrent(_context), "cuCtxSetCurrent");
    }

    /// <inheritdoc />
    public override nint Allocate(long bytes)
    {
        Current();
        ulong pointer;
        int status = MemAlloc(&pointer, (nuint)Math.Max(bytes, 1));
        if (status == ErrorOutOfMemory)
            throw new OutOfMemoryException($"cuda:{Index}: cuMemAlloc({bytes} bytes) ran out of device memory on {Info.Name}.");
        Check(status, $"cuMemAlloc({bytes} bytes)");
        return (nint)pointer;
    }

    /// <inheritdoc />
    public override void Free(nint buffer)
    {
        Current();
        Check(MemFree((ulong)buffer), "cuMemFree");
    }

    /// <inheritdoc />
    public override void Write(nint buffer, long offsetBytes, ReadOnlySpan<byte> source)
    {
        Current();
        if (source.IsEmpty) return;
        fixed (byte* p = source)
            Check(MemcpyHtoD((ulong)buffer + (ulong)offsetBytes, p, (nuint)source.Length), "cuMemcpyHtoD");
    }

    /// <inheritdoc />
    public override void Read(nint buffer, long offsetBytes, Span<byte> destination)
    {
        Current();
        if (destination.IsEmpty) return;
        fixed (byte* p = destination)
            Check(MemcpyDtoH(p, (ulong)buffer + (ulong)offsetBytes, (nuint)destination.Length), "cuMemcpyDtoH");
    }

    /// <inheritdoc />
    public override (long Free, long Total) MemoryInfo()
    {
        Current();
        nuint free, total;
        Check(MemGetInfo(&free, &total), "cuMemGetInfo");
        return ((long)free, (long)total);
    }

    /// <inheritdoc />
    public override void Synchronize()
    {
        Current();
        Check(CtxSynchronize(), "cuCtxSynchronize");
    }

    /// <summary>Device time between CUDA events recorded on the stream before and after <paramref name="work"/>'s launches.</summary>
    public override double TimeMilliseconds(Action work)
    {
        Current();
        nint start = 0, stop = 0;
        try
        {
            Check(EventCreate(&start, 0), "cuEventCreate");
            Check(EventCreate(&stop, 0), "cuEventCreate");
            Check(EventRecord(start, 0), "cuEventRecord");
            work();
            Current();
            Check(EventRecord(stop, 0), "cuEventRecord");
            Check(EventSynchronize(stop), "cuEventSynchronize");
            float ms;
            Check(EventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
            return ms;
        }
        finally
        {
            if (start != 0) EventDestroy(start);
            if (stop != 0) EventDestroy(stop);
        }
    }

    /// <inheritdoc />
    public override void Launch(GpuKernel kernel, (int X, int Y, int Z) groups, (int X, int Y, int Z) local, KernelArgs args)
    {
        if (groups.X == 0 || groups.Y == 0 || groups.Z == 0) return;
        Current();
        int status = 0;
        args.WithPointers((pointers, _) =>
        {
            fixed (nint* p = pointers)
                status = LaunchKernel(kernel.Handle, (uint)groups.X, (uint)groups.Y, (uint)groups.Z,
                    (uint)local.X, (uint)local.Y, (uint)local.Z, 0, 0, (void**)p, null);
        });
        Check(status, $"launch {kernel.Name} ({groups.X}x{groups.Y}x{groups.Z} blocks of {local.X}x{local.Y}x{local.Z})");
    }

    /// <summary>
    /// Builds one program: PTX from <see cref="GpuRuntime.Cache"/> when there is good PTX there,
    /// else compiled by NVRTC for <see cref="Architecture"/> (then cached); loaded as a module,
    /// its kernels found by the names in the source (they are extern "C").
    /// </summary>
    protected override IReadOnlyDictionary<string, GpuKernel> Build(string file, string source, IReadOnlyList<string> defines)
    {
        Current();
        if (Nvrtc.UnavailableReason is { } missing)
            throw new InvalidOperationException($"cuda:{Index}: cannot compile {file}.gpu: {missing}");
        string arch = Architecture;
        string[] options = [$"--gpu-architecture={arch}", .. defines.Select(d => "-D" + d)];
        string key = ProgramCache.Key(source, defines, Info.Name, Info.Driver, Dialect, $"NVRTC {Nvrtc.Version} {string.Join(' ', options)}");

        nint module = 0;
        if (Cache.TryRead(key) is { } cached && (module = LoadModule(cached, out _)) == 0) Cache.Discard(key);
        if (module == 0)
        {
            var result = Nvrtc.Compile(source, file + ".gpu", options);
            if (!result.Success)
                throw new InvalidOperationException($"cuda: compiling {file}.gpu ({string.Join(' ', options)}) with NVRTC {Nvrtc.Version} failed:\n{result.Log}");
            module = LoadModule(result.Ptx!, out int status);
            if (module == 0)
                throw new InvalidOperationException(
                    $"cuda:{Index}: loading {file}.gpu's PTX ({arch}, NVRTC {Nvrtc.Version}) on {Info.Name} with {Info.Driver} failed with {ErrorName(status)} ({status})"
                    + (status == ErrorUnsupportedPtxVersion ? ": NVRTC is newer than the driver; update the driver or point TENSORIUM_NVRTC at an older NVRTC." : "."));
            Cache.Write(key, result.Ptx);
        }
        lock (_moduleLock) _modules.Add(module);

        var kernels = new Dictionary<string, GpuKernel>();
        foreach (var name in KernelSource.KernelNames(source))
        {
            byte[] nameBytes = Encoding.UTF8.GetBytes(name + "\0");
            nint function;
            int status;
            fixed (byte* n = nameBytes) status = ModuleGetFunction(&function, module, n);
            if (status == ErrorNotFound) continue;   // inside an #ifdef this variant leaves out
            Check(status, $"cuModuleGetFunction({name})");
            kernels[name] = new GpuKernel(name, function);
        }
        return kernels;
    }

    /// <summary>A module from PTX, or 0 (with the driver's status) when the driver will not load it.</summary>
    private static nint LoadModule(byte[] ptx, out int status)
    {
        if (ptx.Length == 0 || ptx[^1] != 0) ptx = [.. ptx, 0];   // cuModuleLoadData reads PTX as a C string
        nint module;
        fixed (byte* p = ptx) status = ModuleLoadData(&module, p);
        return status == Success ? module : 0;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (_disposed) return;
        if (CtxSetCurrent(_context) == Success)
            lock (_moduleLock)
            {
                foreach (var m in _modules) ModuleUnload(m);
                _modules.Clear();
            }
        _disposed = true;
        if (_context != 0) DevicePrimaryCtxRelease(_device);
    }
}
