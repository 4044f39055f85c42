namespace Tensorium.Kernels.Ops;

/// <summary>
/// Sizes of one 2-D pooling over NCHW data. The output size follows PyTorch (rounded down,
/// no dilation): <c>out = (in + 2*pad - kernel) / stride + 1</c>.
/// </summary>
/// <param name="Batch">Number of images (N).</param>
/// <param name="Channels">Channels per image (C); each (n, c) plane is pooled on its own.</param>
/// <param name="InHeight">Input height (H).</param>
/// <param name="InWidth">Input width (W).</param>
/// <param name="KernelHeight">Window height.</param>
/// <param name="KernelWidth">Window width.</param>
/// <param name="StrideH">Vertical step between windows.</param>
/// <param name="StrideW">Horizontal step between windows.</param>
/// <param name="PadH">Implicit rows of padding above and below (never selected by max-pool).</param>
/// <param name="PadW">Implicit columns of padding left and right (never selected by max-pool).</param>
public readonly record struct Pool2dGeometry(
    int Batch, int Channels, int InHeight, int InWidth,
    int KernelHeight, int KernelWidth, int StrideH, int StrideW, int PadH = 0, int PadW = 0)
{
    /// <summary>Output height; 0 when the window does not fit in the padded input.</summary>
    public int OutHeight => OutSize(InHeight, KernelHeight, StrideH, PadH);

    /// <summary>Output width; 0 when the window does not fit in the padded input.</summary>
    public int OutWidth => OutSize(InWidth, KernelWidth, StrideW, PadW);

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the op and the offending values for a
    /// non-positive size or stride, a negative padding, a padding above half the window (PyTorch's
    /// rule, which guarantees every window holds at least one real element) or an empty output.
    /// </summary>
    public void Validate()
    {
        if (Batch < 1 || Channels < 1 || InHeight < 1 || InWidth < 1 || KernelHeight < 1 || KernelWidth < 1)
            throw new ArgumentException(
                $"max_pool2d: sizes must be positive, got batch={Batch}, channels={Channels}, " +
                $"input={InHeight}x{InWidth}, kernel={KernelHeight}x{KernelWidth}.");
        if (StrideH < 1 || StrideW < 1)
            throw new ArgumentException($"max_pool2d: stride must be at least 1, got {StrideH}x{StrideW}.");
        if (PadH < 0 || PadW < 0 || PadH > KernelHeight / 2 || PadW > KernelWidth / 2)
            throw new ArgumentException(
                $"max_pool2d: padding must be between 0 and half the kernel, got padding {PadH}x{PadW} " +
                $"for kernel {KernelHeight}x{KernelWidth}.");
        if (OutHeight < 1 || OutWidth < 1)
            throw new ArgumentException(
                $"max_pool2d: kernel {KernelHeight}x{KernelWidth} does not fit input {InHeight}x{InWidth} " +
                $"padded by {PadH}x{PadW}; output would be {OutHeight}x{OutWidth}.");
        if ((long)Batch * Channels > int.MaxValue || (long)InHeight * InWidth > int.MaxValue)
            throw new ArgumentException(
                $"max_pool2d: batch*channels ({Batch}x{Channels}) and one plane ({InHeight}x{InWidth}) " +
                $"must each have at most {int.MaxValue} elements.");
    }

    private static int OutSize(int input, int kernel, int stride, int pad)
    {
        long span = (long)input + 2L * pad - kernel;
        if (span < 0 || stride < 1) return 0;
        return (int)Math.Min(int.MaxValue, span / stride + 1);
    }
}

