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

    /// <summary>The backend that runs kernels on this device.</summary>
    internal IBackend Backend => Kind switch
    {
        DeviceKind.Cpu => CpuBackend.Instance,
        _ => throw new NotSupportedException($"Device {this}: no backend for {Kind} is available in this build."),
    };

    /// <summary>This device's buffer pool: live-buffer counters, and <see cref="BufferPool.Empty"/>.</summary>
    public BufferPool Pool => Backend.Pool;

    /// <inheritdoc />
    public override string ToString() => Kind == DeviceKind.Cpu ? "cpu" : $"{Kind.ToString().ToLowerInvariant()}:{Index}";
}
