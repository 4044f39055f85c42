using System.Text;
using static Tensorium.Kernels.Gpu.OpenCl.OpenClApi;

namespace Tensorium.Kernels.Gpu.OpenCl;

/// <summary>
/// One OpenCL device: a context, an in-order command queue, buffers, and programs built from the
/// shared kernel source. Device i is the i-th device over all platforms, in platform order.
/// </summary>
public sealed unsafe class OpenClRuntime : GpuRuntime
{
    private readonly nint _device, _context, _queue;
    private readonly List<nint> _programs = new();
    private readonly List<nint> _kernelHandles = new();
    private readonly Lock _launchLock = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<nint, long> _sizes = new();
    private bool _disposed;

    /// <summary>
    /// Opens OpenCL device <paramref name="index"/> (see <see cref="Devices"/>), keeping program
    /// binaries in <paramref name="cache"/> (null: <see cref="ProgramCache.Default"/>).
    /// </summary>
    public OpenClRuntime(int index, ProgramCache? cache = null) : base(cache)
    {
        var devices = Devices();
        if (index < 0 || index >= devices.Count)
            throw new ArgumentOutOfRangeException(nameof(index), index,
                devices.Count == 0 ? $"opencl:{index}: {NoDevicesReason()}" : $"opencl:{index}: only {devices.Count} OpenCL device(s) are present.");
        (nint platform, _device) = devices[index];
        Info = Describe(platform, _device);
        int status;
        nint device = _device;
        _context = CreateContext(null, 1, &device, 0, 0, &status);
        Check(status, "clCreateContext");
        _queue = CreateCommandQueue(_context, _device, 0, &status);
        Check(status, "clCreateCommandQueue");
    }

    /// <inheritdoc />
    public override KernelDialect Dialect => KernelDialect.OpenCL;

    /// <inheritdoc />
    public override GpuDeviceInfo Info { get; }

    /// <summary>Every OpenCL device of every platform, as (platform, device) handles; empty when OpenCL is absent.</summary>
    public static IReadOnlyList<(nint Platform, nint Device)> Devices()
    {
        var result = new List<(nint, nint)>();
        if (!IsAvailable) return result;
        uint platformCount;
        if (GetPlatformIDs(0, null, &platformCount) != Success || platformCount == 0) return result;
        var platforms = new nint[platformCount];
        fixed (nint* p = platforms) Check(GetPlatformIDs(platformCount, p, null), "clGetPlatformIDs");
        foreach (var platform in platforms)
        {
            uint count;
            if (GetDeviceIDs(platform, DeviceTypeAll, 0, null, &count) != Success || count == 0) continue;
            var devices = new nint[count];
            fixed (nint* d = devices) Check(GetDeviceIDs(platform, DeviceTypeAll, count, d, null), "clGetDeviceIDs");
            foreach (var device in devices) result.Add((platform, device));
        }
        return result;
    }

    /// <summary>Why <see cref="Devices"/> is empty: no loader, or a loader with no platform (ICD) installed.</summary>
    public static string NoDevicesReason() => LoadError
        ?? "no OpenCL platform: the loader found no installed driver (on Debian, PoCL runs OpenCL on the CPU: apt install pocl-opencl-icd).";

    /// <summary>What each device of <see cref="Devices"/> is, without opening it.</summary>
    public static IReadOnlyList<GpuDeviceInfo> DescribeDevices() => Devices().Select(d => Describe(d.Platform, d.Device)).ToArray();

    private static GpuDeviceInfo Describe(nint platform, nint device) => new(
        Name: InfoString(GetDeviceInfo, device, DeviceName),
        Vendor: InfoString(GetPlatformInfo, platform, PlatformName),
        GlobalMemoryBytes: (long)DeviceValue<ulong>(device, DeviceGlobalMemSize),
        ComputeUnits: (int)DeviceValue<uint>(device, DeviceMaxComputeUnits),
        MaxWorkGroupSize: (int)DeviceValue<nuint>(device, DeviceMaxWorkGroupSize),
        LocalMemoryBytes: (long)DeviceValue<ulong>(device, DeviceLocalMemSize),
        SupportsDouble: DeviceValue<ulong>(device, DeviceDoubleFpConfig) != 0,
        IsCpu: (DeviceValue<ulong>(device, DeviceType) & DeviceTypeCpu) != 0,
        Driver: InfoString(GetDeviceInfo, device, DriverVersion));

    /// <inheritdoc />
    public override nint Allocate(long bytes)
    {
        int status;
        nint buffer = CreateBuffer(_context, MemReadWrite, (nuint)bytes, null, &status);
        if (status == InvalidBufferSize)
            throw new OutOfMemoryException($"opencl: {bytes} bytes is larger than one buffer may be on {Info.Name}.");
        Check(status, $"clCreateBuffer({bytes} bytes)");
        _sizes[buffer] = bytes;
        return buffer;
    }

    /// <inheritdoc />
    public override void Free(nint buffer)
    {
        _sizes.TryRemove(buffer, out _);
        Check(ReleaseMemObject(buffer), "clReleaseMemObject");
    }

    /// <inheritdoc />
    public override void Write(nint buffer, long offsetBytes, ReadOnlySpan<byte> source)
    {
        if (source.IsEmpty) return;
        fixed (byte* p = source)
            Check(EnqueueWriteBuffer(_queue, buffer, 1, (nuint)offsetBytes, (nuint)source.Length, p, 0, null, null), "clEnqueueWriteBuffer");
    }

    /// <inheritdoc />
    public override void Read(nint buffer, long offsetBytes, Span<byte> destination)
    {
        if (destination.IsEmpty) return;
        fixed (byte* p = destination)
            Check(EnqueueReadBuffer(_queue, buffer, 1, (nuint)offsetBytes, (nuint)destination.Length, p, 0, null, null), "clEnqueueReadBuffer");
    }

    /// <summary>OpenCL has no free-memory query: free is the total less what this runtime holds.</summary>
    public override (long Free, long Total) MemoryInfo() =>
        (Math.Max(0, Info.GlobalMemoryBytes - _sizes.Values.Sum()), Info.GlobalMemoryBytes);

    /// <inheritdoc />
    public override void Synchronize() => Check(Finish(_queue), "clFinish");

    /// <summary>Wall-clock time from an empty queue to the end of <paramref name="work"/>'s work (clFinish on both sides).</summary>
    public override double TimeMilliseconds(Action work)
    {
        Synchronize();
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        work();
        Synchronize();
        return System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    /// <inheritdoc />
    public override void Launch(GpuKernel kernel, (int X, int Y, int Z) groups, (int X, int Y, int Z) local, KernelArgs args)
    {
        if (groups.X == 0 || groups.Y == 0 || groups.Z == 0) return;
        nuint* global = stackalloc nuint[3] { (nuint)groups.X * (nuint)local.X, (nuint)groups.Y * (nuint)local.Y, (nuint)groups.Z * (nuint)local.Z };
        nuint* localSize = stackalloc nuint[3] { (nuint)local.X, (nuint)local.Y, (nuint)local.Z };
        lock (_launchLock)   // arguments live on the kernel object: set and enqueue as one step
        {
            for (int i = 0; i < args.Count; i++)
                fixed (byte* value = args[i])
                    Check(SetKernelArg(kernel.Handle, (uint)i, (nuint)args[i].Length, value), $"clSetKernelArg({kernel.Name}, {i})");
            Check(EnqueueNDRangeKernel(_queue, kernel.Handle, 3, null, global, localSize, 0, null, null), $"launch {kernel.Name}");
        }
    }

    /// <summary>
    /// Builds one program: from the binary in <see cref="GpuRuntime.Cache"/> when there is a good
    /// one, else from source (then the binary is cached). A binary the driver rejects is discarded.
    /// </summary>
    protected override IReadOnlyDictionary<string, GpuKernel> Build(string file, string source, IReadOnlyList<string> defines)
    {
        string options = "-cl-std=CL1.2 " + string.Join(' ', defines.Select(d => "-D " + d));
        string key = ProgramCache.Key(source, defines, Info.Name, $"{Info.Vendor} {Info.Driver}", Dialect, options);
        nint program = 0;
        if (Cache.TryRead(key) is { } binary && (program = FromBinary(binary, options)) == 0) Cache.Discard(key);
        if (program == 0)
        {
            program = FromSource(file, source, options);
            if (ProgramBinary(program) is { } built) Cache.Write(key, built);
        }
        _programs.Add(program);

        int status;
        var kernels = new Dictionary<string, GpuKernel>();
        foreach (var name in InfoString(GetProgramInfo, program, ProgramKernelNames).Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            byte[] nameBytes = Encoding.UTF8.GetBytes(name + "\0");
            nint kernel;
            fixed (byte* n = nameBytes) kernel = CreateKernel(program, n, &status);
            Check(status, $"clCreateKernel({name})");
            _kernelHandles.Add(kernel);
            kernels[name] = new GpuKernel(name, kernel);
        }
        return kernels;
    }

    private nint FromSource(string file, string source, string options)
    {
        int status;
        byte[] text = Encoding.UTF8.GetBytes(source);
        nint program;
        fixed (byte* s = text)
        {
            byte* sources = s;
            nuint length = (nuint)text.Length;
            program = CreateProgramWithSource(_context, 1, &sources, &length, &status);
        }
        Check(status, "clCreateProgramWithSource");
        if (BuildFor(program, options) != Success)
        {
            string log = BuildLog(program);
            ReleaseProgram(program);
            throw new InvalidOperationException($"opencl: building {file}.gpu ({options}) for {Info.Name} failed:\n{log}");
        }
        return program;
    }

    /// <summary>A built program from a cached binary, or 0 when the driver will not take it.</summary>
    private nint FromBinary(byte[] binary, string options)
    {
        if (CreateProgramWithBinary == null) return 0;
        int status, binaryStatus;
        nint program, device = _device;
        fixed (byte* b = binary)
        {
            byte* binaries = b;
            nuint length = (nuint)binary.Length;
            program = CreateProgramWithBinary(_context, 1, &device, &length, &binaries, &binaryStatus, &status);
        }
        if (status != Success || binaryStatus != Success || program == 0)
        {
            if (program != 0) ReleaseProgram(program);
            return 0;
        }
        if (BuildFor(program, options) != Success)
        {
            ReleaseProgram(program);
            return 0;
        }
        return program;
    }

    private int BuildFor(nint program, string options)
    {
        byte[] optionBytes = Encoding.UTF8.GetBytes(options + "\0");
        nint device = _device;
        fixed (byte* o = optionBytes) return BuildProgram(program, 1, &device, o, 0, 0);
    }

    /// <summary>The device binary of a built program, or null when the driver does not give one.</summary>
    private static byte[]? ProgramBinary(nint program)
    {
        nuint size;
        if (GetProgramInfo(program, ProgramBinarySizes, (nuint)sizeof(nuint), &size, null) != Success || size == 0) return null;
        var binary = new byte[(int)size];
        fixed (byte* b = binary)
        {
            byte* pointer = b;
            if (GetProgramInfo(program, ProgramBinaries, (nuint)sizeof(nint), &pointer, null) != Success) return null;
        }
        return binary;
    }

    private string BuildLog(nint program)
    {
        nuint size;
        if (GetProgramBuildInfo(program, _device, ProgramBuildLog, 0, null, &size) != Success) return "(no build log)";
        var bytes = new byte[(int)size];
        fixed (byte* p = bytes) GetProgramBuildInfo(program, _device, ProgramBuildLog, size, p, null);
        return Encoding.UTF8.GetString(bytes).TrimEnd('\0');
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var k in _kernelHandles) ReleaseKernel(k);
        foreach (var p in _programs) ReleaseProgram(p);
        _kernelHandles.Clear();
        _programs.Clear();
        if (_queue != 0) ReleaseCommandQueue(_queue);
        if (_context != 0) ReleaseContext(_context);
    }
}
