using System.Diagnostics.CodeAnalysis;

namespace Tensorium;

/// <summary>The kind of hardware a tensor lives on.</summary>
public enum DeviceKind
{
    /// <summary>Host memory, C# SIMD kernels.</summary>
    Cpu,
    /// <summary>An OpenCL device that ILGPU can compile for (OpenCL 2.0, or 3.0 with the generic address space).</summary>
    OpenCL,
    /// <summary>An NVIDIA GPU through the CUDA driver API.</summary>
    Cuda,
    /// <summary>
    /// ILGPU's CPU accelerator: the GPU kernels run on host threads with real groups, shared
    /// memory and barriers. Slow, but always present, so tests and debuggers use it.
    /// </summary>
    Emulated,
}

/// <summary>Where a tensor's memory lives and where its kernels run.</summary>
/// <param name="Kind">The device family.</param>
/// <param name="Index">Which device of that family.</param>
public sealed record Device(DeviceKind Kind, int Index = 0)
{
    /// <summary>The host CPU.</summary>
    public static Device Cpu { get; } = new(DeviceKind.Cpu);

    /// <summary>OpenCL device <paramref name="index"/>, counted over the devices ILGPU supports on all platforms (see <see cref="Available"/>).</summary>
    public static Device OpenCL(int index = 0) => new(DeviceKind.OpenCL, index);

    /// <summary>CUDA device <paramref name="index"/>, in the driver's order.</summary>
    public static Device Cuda(int index = 0) => new(DeviceKind.Cuda, index);

    /// <summary>
    /// The emulated GPU: ILGPU's CPU accelerator, which runs the GPU kernels on host threads.
    /// Always available (a kernel can be stepped through in a debugger there), never the default.
    /// </summary>
    public static Device Emulated { get; } = new(DeviceKind.Emulated);

    /// <summary>
    /// The backend that runs kernels on this device: the SIMD CPU backend, or the ILGPU backend for
    /// every other device (CUDA, OpenCL, emulated), which opens its accelerator on first use.
    /// </summary>
    /// <remarks>
    /// The one place the profiler hooks in: while a <see cref="Profiling.Profiler"/> is open, the
    /// backend comes wrapped in a <see cref="Profiling.ProfilingBackend"/> that times each op.
    /// </remarks>
    internal IBackend Backend => Profiling.Profiler.IsAnyOpen ? Profiling.ProfilingBackend.For(this, OwnBackend) : OwnBackend;

    private IBackend OwnBackend => Kind == DeviceKind.Cpu ? CpuBackend.Instance : IlgpuBackend.For(this);

    private static readonly Lazy<IReadOnlyList<DeviceDescription>> Listed = new(IlgpuContext.Describe);

    /// <summary>
    /// Every device present: the CPU first, then each OpenCL device ILGPU can compile for, each
    /// CUDA device, and last the emulated device. Asked of the drivers once per process; a missing
    /// driver means no devices of its kind, never an exception.
    /// </summary>
    public static IReadOnlyList<DeviceDescription> Available() => Listed.Value;

    /// <summary>
    /// The best device present: a CUDA GPU, else an OpenCL GPU, else the CPU. A device that runs
    /// on the CPU (an OpenCL CPU driver, the emulated device) is never the default: the native
    /// CPU backend is faster on the same cores.
    /// </summary>
    public static Device Default =>
        Available().Where(d => d.IsGpu).OrderBy(d => d.Device.Kind == DeviceKind.Cuda ? 0 : 1).Select(d => d.Device).FirstOrDefault() ?? Cpu;

    /// <summary>Parses "cpu", "emulated", "opencl", "opencl:1", "cuda", "cuda:0" (the form <see cref="ToString"/> writes).</summary>
    /// <exception cref="FormatException">The text is none of these forms.</exception>
    public static Device Parse(string text) =>
        TryParse(text, out var device) ? device : throw new FormatException($"device: expected cpu, emulated, opencl[:N] or cuda[:N], got '{text}'.");

    /// <summary>
    /// Parses like <see cref="Parse"/>, returning false instead of throwing for a malformed name.
    /// Says nothing about whether the device is present: see <see cref="IsAvailable"/>.
    /// </summary>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out Device? device)
    {
        device = null;
        if (text == null) return false;
        var parts = text.Trim().ToLowerInvariant().Split(':');
        int index = 0;
        if (parts.Length > 2 || (parts.Length == 2 && !int.TryParse(parts[1], out index)) || index < 0) return false;
        device = parts[0] switch
        {
            "cpu" when parts.Length == 1 => Cpu,
            "emulated" when parts.Length == 1 => Emulated,
            "opencl" => OpenCL(index),
            "cuda" => Cuda(index),
            _ => null,
        };
        return device != null;
    }

    /// <summary>
    /// Whether this device is present on this machine (listed by <see cref="Available"/>), so that
    /// a program can check a device named on its command line before using it. The CPU and the
    /// emulated device always are.
    /// </summary>
    public bool IsAvailable => this == Cpu || Available().Any(d => d.Device == this);

    /// <summary>Waits until every kernel queued on this device has finished (a no-op on the CPU, whose kernels are synchronous).</summary>
    public void Synchronize()
    {
        if (Kind != DeviceKind.Cpu) IlgpuBackend.For(this).Synchronize();
    }

    /// <summary>This device's buffer pool: live-buffer counters, and <see cref="BufferPool.Empty"/>.</summary>
    public BufferPool Pool => Backend.Pool;

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        DeviceKind.Cpu => "cpu",
        DeviceKind.Emulated when Index == 0 => "emulated",
        _ => $"{Kind.ToString().ToLowerInvariant()}:{Index}",
    };
}
