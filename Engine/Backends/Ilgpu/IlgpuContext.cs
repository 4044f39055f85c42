using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace Tensorium;

/// <summary>
/// The one ILGPU <see cref="Context"/> of the process, created on first use, and the
/// accelerator behind each device that runs on ILGPU. Today that is the emulated device (ILGPU's
/// CPU accelerator); CUDA and OpenCL accelerators join here when those devices move onto ILGPU.
/// </summary>
internal static class IlgpuContext
{
    /// <summary>Threads per warp of the emulated device: as on NVIDIA GPUs, so warp-level code sees the same width.</summary>
    public const int EmulatedWarpSize = 32;

    /// <summary>
    /// Warps per group of the emulated device: 8 x 32 = 256 threads, enough for 16x16 tiles (the
    /// default CPU device refuses groups over 16 threads).
    /// </summary>
    public const int EmulatedWarpsPerGroup = 8;

    private static readonly Lazy<Context> Shared = new(Create);
    private static readonly Lazy<Accelerator> EmulatedAccelerator = new(CreateEmulated);

    /// <summary>The process's ILGPU context.</summary>
    public static Context Context => Shared.Value;

    /// <summary>The accelerator that runs <paramref name="device"/>'s kernels, created on first use.</summary>
    /// <exception cref="NotSupportedException">The device does not run on ILGPU (yet).</exception>
    public static Accelerator Accelerator(Device device) => device.Kind switch
    {
        DeviceKind.Emulated when device.Index == 0 => EmulatedAccelerator.Value,
        DeviceKind.Emulated => throw new ArgumentException($"{device}: there is one emulated device, emulated (index 0)."),
        _ => throw new NotSupportedException($"{device}: does not run on ILGPU yet."),
    };

    private static Context Create() =>
        Context.Create(builder => builder
            .CPU(new CPUDevice(EmulatedWarpSize, EmulatedWarpsPerGroup, Environment.ProcessorCount))
            .EnableAlgorithms());

    // Parallel mode runs a group's threads on host threads side by side; Sequential mode is far
    // too slow for tiled kernels (a 64^3 GEMM did not finish in minutes).
    private static Accelerator CreateEmulated() =>
        Context.GetCPUDevice(0).CreateCPUAccelerator(Context, CPUAcceleratorMode.Parallel);
}
