namespace Tensorium;

/// <summary>One device present on this machine and what it can do (see <see cref="Device.Available"/>).</summary>
/// <param name="Device">The device, to pass to <c>tensor.To(device)</c>.</param>
/// <param name="Name">The hardware's name as its driver reports it.</param>
/// <param name="Vendor">The driver or platform (for example "NVIDIA CUDA", "Portable Computing Language").</param>
/// <param name="MemoryBytes">Device memory size (host memory for the CPU).</param>
/// <param name="ComputeUnits">Multiprocessors, compute units or cores.</param>
/// <param name="SupportsFloat64">Whether float64 tensors work there.</param>
/// <param name="IsGpu">False for the CPU and for OpenCL implementations that run on it.</param>
public sealed record DeviceDescription(Device Device, string Name, string Vendor, long MemoryBytes, int ComputeUnits, bool SupportsFloat64, bool IsGpu)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{Device,-9} {Name} ({Vendor}; {MemoryBytes / (1 << 20)} MiB, {ComputeUnits} units{(SupportsFloat64 ? ", float64" : "")})";
}
