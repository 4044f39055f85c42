namespace Tensorium;

/// <summary>The kind of hardware a tensor lives on.</summary>
public enum DeviceKind
{
    /// <summary>Host memory, C# SIMD kernels.</summary>
    Cpu,
    /// <summary>An OpenCL device (GPU, or PoCL on the CPU).</summary>
    OpenCL,
    /// <summary>An NVIDIA GPU through the CUDA driver API.</summary>
    Cuda,
}

/// <summary>Where a tensor's memory lives and where its kernels run.</summary>
/// <param name="Kind">The device family.</param>
/// <param name="Index">Which device of that family.</param>
public sealed record Device(DeviceKind Kind, int Index = 0)
{
    /// <summary>The host CPU.</summary>
    public static Device Cpu { get; } = new(DeviceKind.Cpu);

    /// <summary>OpenCL device <paramref name="index"/>, counted over all platforms (see <see cref="Available"/>).</summary>
    public static Device OpenCL(int index = 0) => new(DeviceKind.OpenCL, index);

    /// <summary>CUDA device <paramref name="index"/>, in the driver's order.</summary>
    public static Device Cuda(int index = 0) => new(DeviceKind.Cuda, index);

    /// <summary>The backend that runs kernels on this device (GPU devices open on first use).</summary>
    internal IBackend Backend => Kind == DeviceKind.Cpu ? CpuBackend.Instance : GpuBackends.For(this);

    /// <summary>Every device present: the CPU first, then each OpenCL and CUDA device the drivers report.</summary>
    public static IReadOnlyList<DeviceDescription> Available() => GpuBackends.Available();

    /// <summary>
    /// The best device present: a CUDA GPU, else an OpenCL GPU, else the CPU. OpenCL on the CPU
    /// (PoCL) is never the default: the native CPU backend is faster on the same cores.
    /// </summary>
    public static Device Default =>
        Available().Where(d => d.IsGpu).OrderBy(d => d.Device.Kind == DeviceKind.Cuda ? 0 : 1).Select(d => d.Device).FirstOrDefault() ?? Cpu;

    /// <summary>Parses "cpu", "opencl", "opencl:1", "cuda", "cuda:0" (the form <see cref="ToString"/> writes).</summary>
    public static Device Parse(string text)
    {
        var parts = text.Trim().ToLowerInvariant().Split(':');
        int index = 0;
        if (parts.Length > 2 || (parts.Length == 2 && !int.TryParse(parts[1], out index)) || index < 0)
            throw new FormatException($"device: expected cpu, opencl[:N] or cuda[:N], got '{text}'.");
        return parts[0] switch
        {
            "cpu" when parts.Length == 1 => Cpu,
            "opencl" => OpenCL(index),
            "cuda" => Cuda(index),
            _ => throw new FormatException($"device: expected cpu, opencl[:N] or cuda[:N], got '{text}'."),
        };
    }

    /// <summary>Waits until every kernel queued on this device has finished (a no-op on the CPU, whose kernels are synchronous).</summary>
    public void Synchronize()
    {
        if (Kind != DeviceKind.Cpu) GpuBackends.For(this).Runtime.Synchronize();
    }

    /// <summary>This device's buffer pool: live-buffer counters, and <see cref="BufferPool.Empty"/>.</summary>
    public BufferPool Pool => Backend.Pool;

    /// <inheritdoc />
    public override string ToString() => Kind == DeviceKind.Cpu ? "cpu" : $"{Kind.ToString().ToLowerInvariant()}:{Index}";
}
