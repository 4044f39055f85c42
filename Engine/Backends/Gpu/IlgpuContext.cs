using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Tensorium;

/// <summary>
/// The one ILGPU <see cref="Context"/> of the process, created on first use, and the accelerator
/// behind each device that runs on ILGPU: the emulated device (ILGPU's CPU accelerator), CUDA
/// devices, and the OpenCL devices ILGPU can compile for (those with the generic address space:
/// OpenCL 2.0, or 3.0 with that feature; Debian's PoCL 3.1 is not one). <see cref="Describe"/>
/// is <see cref="Device.Available"/>'s list.
/// </summary>
internal static class IlgpuContext
{
    /// <summary>Threads per warp of the emulated device: as on NVIDIA GPUs, so warp-level code sees the same width.</summary>
    public const int EmulatedWarpSize = 32;

    /// <summary>
    /// Warps per group of the emulated device's wide accelerator: 8 x 32 = 256 threads, enough for
    /// 16x16 tiles (the default CPU device refuses groups over 16 threads).
    /// </summary>
    public const int EmulatedWarpsPerGroup = 8;

    /// <summary>
    /// The largest group the emulated device's narrow accelerator runs: one warp. Launches with
    /// larger groups go to the wide one (see <see cref="EmulatedWide"/>).
    /// </summary>
    public const int EmulatedNarrowGroup = EmulatedWarpSize;

    private static readonly Lazy<Context> Shared = new(Create);
    private static readonly Dictionary<Device, Accelerator> Opened = new();
    private static readonly Lock OpenLock = new();
    private static string? _gpuDriverProblem;
    private static Accelerator? _emulatedWide;

    /// <summary>The process's ILGPU context.</summary>
    public static Context Context => Shared.Value;

    /// <summary>
    /// The accelerator that runs <paramref name="device"/>'s kernels, created on first use and kept
    /// for the life of the process. A device that is missing fails with an exception naming it,
    /// every time it is asked for.
    /// </summary>
    /// <exception cref="InvalidOperationException">No such device, no driver, or the driver refused to open it.</exception>
    public static Accelerator Accelerator(Device device)
    {
        lock (OpenLock)
        {
            if (Opened.TryGetValue(device, out var accelerator)) return accelerator;
            var opened = Open(device);
            Opened[device] = opened;
            return opened;
        }
    }

    /// <summary>
    /// Every device on ILGPU present on this machine, in <see cref="Device.Available"/>'s order: the
    /// CPU (the SIMD backend, not ILGPU), each OpenCL device ILGPU supports, each CUDA device,
    /// then the emulated device. Never throws: a missing driver means no devices of its kind.
    /// </summary>
    public static IReadOnlyList<DeviceDescription> Describe()
    {
        long hostMemory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var list = new List<DeviceDescription>
        {
            new(Device.Cpu, "host CPU", "Tensorium SIMD", hostMemory, Environment.ProcessorCount, true, false),
        };
        var openCl = OpenClDevices();
        for (int i = 0; i < openCl.Count; i++)
        {
            var d = openCl[i];
            bool onCpu = d.DeviceType.HasFlag(CLDeviceType.CL_DEVICE_TYPE_CPU);
            list.Add(new(Device.OpenCL(i), d.Name, d.PlatformName, d.MemorySize, d.NumMultiprocessors, d.Capabilities.Float64, !onCpu));
        }
        var cuda = CudaDevices();
        for (int i = 0; i < cuda.Count; i++)
            list.Add(new(Device.Cuda(i), cuda[i].Name, "NVIDIA CUDA", cuda[i].MemorySize, cuda[i].NumMultiprocessors, true, true));
        list.Add(new(Device.Emulated, "ILGPU CPU accelerator", "ILGPU", hostMemory, Environment.ProcessorCount, true, false));
        return list.AsReadOnly();
    }

    private static Context Create()
    {
        try
        {
            return Context.Create(builder => EmulatedDevices(builder).Cuda().OpenCL().EnableAlgorithms());
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or BadImageFormatException)
        {
            // A broken GPU driver must not take the emulated device down with it: keep the CPU
            // accelerator, and name the problem when a GPU device is asked for.
            _gpuDriverProblem = e.Message;
            return Context.Create(builder => EmulatedDevices(builder).EnableAlgorithms());
        }
    }

    // The emulated device is two ILGPU CPU accelerators over the same host memory. ILGPU runs a
    // CPU group on as many host threads as the largest group launched so far, and every launch
    // wakes all of them (a lock hand-off and two barriers), even for a one-thread elementwise
    // kernel: on 2 cores a launch took about 1.3 ms with 32 threads and 20-35 ms once a 256-thread
    // GEMM tile had run. So the narrow accelerator (one warp) runs every launch that fits in it
    // and owns the memory; the wide one (256 threads) runs only the larger groups, with views of
    // the narrow one's buffers (host memory either way, and CPU launches are synchronous, so
    // their order holds). One multiprocessor each: a second would double the wake-ups, and one
    // group already keeps every core busy.
    private const int NarrowCpuDevice = 0, WideCpuDevice = 1;   // the order EmulatedDevices registers them in

    private static Context.Builder EmulatedDevices(Context.Builder builder) =>
        builder.CPU(new CPUDevice(EmulatedWarpSize, EmulatedNarrowGroup / EmulatedWarpSize, numMultiprocessors: 1))
               .CPU(new CPUDevice(EmulatedWarpSize, EmulatedWarpsPerGroup, numMultiprocessors: 1));

    /// <summary>
    /// The emulated device's wide accelerator when <paramref name="accelerator"/> is its narrow one
    /// (the accelerator every emulated tensor lives on), else null: launches with groups of more
    /// than <see cref="EmulatedNarrowGroup"/> threads run there.
    /// </summary>
    public static Accelerator? EmulatedWide(Accelerator accelerator)
    {
        lock (OpenLock)
        {
            if (!Opened.TryGetValue(Device.Emulated, out var narrow) || narrow != accelerator) return null;
            return _emulatedWide ??= Context.GetCPUDevice(WideCpuDevice).CreateCPUAccelerator(Context, CPUAcceleratorMode.Parallel);
        }
    }

    private static IReadOnlyList<CudaDevice> CudaDevices() => [.. Context.GetDevices<CudaDevice>()];

    // ILGPU's OpenCL() keeps only the devices it can compile for, so this list's order is the
    // OpenCL device index here (it may differ from the hand-written runtime's, which counts every device).
    private static IReadOnlyList<CLDevice> OpenClDevices() => [.. Context.GetDevices<CLDevice>()];

    private static Accelerator Open(Device device)
    {
        switch (device.Kind)
        {
            case DeviceKind.Emulated when device.Index == 0:
                // Parallel mode runs a group's threads on host threads side by side; Sequential mode is
                // far too slow for tiled kernels (a 64^3 GEMM did not finish in minutes).
                return Context.GetCPUDevice(NarrowCpuDevice).CreateCPUAccelerator(Context, CPUAcceleratorMode.Parallel);
            case DeviceKind.Emulated:
                throw new InvalidOperationException($"{device}: there is one emulated device, emulated (index 0).");
            case DeviceKind.Cuda:
                return OpenGpu(device, CudaDevices(), "CUDA", "is the NVIDIA driver (libcuda.so.1) installed?");
            case DeviceKind.OpenCL:
                return OpenGpu(device, OpenClDevices(), "OpenCL",
                    "ILGPU needs an OpenCL 2.0 device (or 3.0 with the generic address space) and libOpenCL.so (ocl-icd-opencl-dev).");
            default:
                throw new InvalidOperationException($"{device}: does not run on ILGPU.");
        }
    }

    private static Accelerator OpenGpu<TDevice>(Device device, IReadOnlyList<TDevice> present, string family, string hint)
        where TDevice : ILGPU.Runtime.Device
    {
        if (device.Index >= present.Count)
        {
            string why = _gpuDriverProblem != null ? $"the GPU drivers failed to load ({_gpuDriverProblem})" : $"ILGPU sees {present.Count} {family} device(s)";
            throw new InvalidOperationException($"{device}: no such device; {why}. {hint}");
        }
        try
        {
            return present[device.Index].CreateAccelerator(Context);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidOperationException($"{device}: {family} could not open {present[device.Index].Name}: {e.Message}", e);
        }
    }
}
