namespace Tensorium;

/// <summary>
/// Process-wide switches for the GPU backends, in the spirit of PyTorch's <c>torch.backends</c> flags.
/// </summary>
public static class GpuSettings
{
    private static volatile bool _allowTf32 = true;

    /// <summary>
    /// Whether float32 matrix products on CUDA may run on TF32 tensor cores, as
    /// <c>torch.backends.cuda.matmul.allow_tf32</c> (and <c>torch.backends.cudnn.allow_tf32</c>,
    /// since convolutions are matrix products here too) allow in PyTorch. On by default (PyTorch's
    /// matmul default has been off since 1.12; its convolution default is on).
    /// <para>
    /// TF32 rounds each input to a 10-bit mantissa (float32 keeps 23) and sums the products in
    /// float32 on tensor cores: faster, with results about 1e-3 relative from the float32 ones; the
    /// results are float32 tensors either way. It applies only on CUDA devices of compute
    /// capability 8.0 (Ampere) or newer (see <see cref="UsesTf32"/>), to the products behind
    /// <c>MatMul</c>, <c>Linear</c> and the convolution passes. Products too thin for tensor-core
    /// tiles (fewer than 16 rows or columns, or fewer than 8 terms), the recurrent layers and the
    /// fused attention kernel stay in float32, and float64 never uses it. Elsewhere (CPU, OpenCL,
    /// older GPUs) every product is float32 whatever this says.
    /// </para>
    /// Read at every product, so it may be switched at any time; turn it off to keep products in
    /// float32 (for example when checking gradients numerically or comparing with the CPU).
    /// </summary>
    public static bool AllowTf32
    {
        get => _allowTf32;
        set => _allowTf32 = value;
    }

    /// <summary>
    /// Whether float32 matrix products on <paramref name="device"/> use TF32 now:
    /// <see cref="AllowTf32"/> is on and the device is a CUDA GPU of compute capability 8.0 or
    /// newer (or the emulated device while a test has it emulate the tensor-core path). Always
    /// false for the CPU and OpenCL devices. Opens the device on first use.
    /// </summary>
    public static bool UsesTf32(Device device) =>
        AllowTf32 && device.Kind != DeviceKind.Cpu && GpuMatMul.HasTf32(IlgpuBackend.For(device).Accelerator);
}
