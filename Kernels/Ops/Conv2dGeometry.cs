namespace Tensorium.Kernels.Ops;

/// <summary>
/// Sizes of one 2-D convolution (groups = 1): input NCHW, weight [OutChannels, InChannels,
/// KernelHeight, KernelWidth], output NCHW. The output size follows PyTorch (rounded down):
/// <c>out = (in + 2*pad - dilation*(kernel-1) - 1) / stride + 1</c>.
/// </summary>
/// <param name="Batch">Number of images (N).</param>
/// <param name="InChannels">Channels of each input image (C).</param>
/// <param name="InHeight">Input height (H).</param>
/// <param name="InWidth">Input width (W).</param>
/// <param name="OutChannels">Number of filters, which is the channel count of the output.</param>
/// <param name="KernelHeight">Filter height.</param>
/// <param name="KernelWidth">Filter width.</param>
/// <param name="StrideH">Vertical step between output rows, in input rows.</param>
/// <param name="StrideW">Horizontal step between output columns, in input columns.</param>
/// <param name="PadH">Zero rows added above and below the input.</param>
/// <param name="PadW">Zero columns added left and right of the input.</param>
/// <param name="DilationH">Vertical spacing between filter taps (1 = adjacent rows).</param>
/// <param name="DilationW">Horizontal spacing between filter taps (1 = adjacent columns).</param>
public readonly record struct Conv2dGeometry(
    int Batch, int InChannels, int InHeight, int InWidth,
    int OutChannels, int KernelHeight, int KernelWidth,
    int StrideH = 1, int StrideW = 1, int PadH = 0, int PadW = 0,
    int DilationH = 1, int DilationW = 1)
{
    /// <summary>Output height; 0 when the (dilated) kernel does not fit in the padded input.</summary>
    public int OutHeight => OutSize(InHeight, KernelHeight, StrideH, PadH, DilationH);

    /// <summary>Output width; 0 when the (dilated) kernel does not fit in the padded input.</summary>
    public int OutWidth => OutSize(InWidth, KernelWidth, StrideW, PadW, DilationW);

    /// <summary>Rows of the im2col matrix: one per filter tap, InChannels * KernelHeight * KernelWidth.</summary>
    public int ColumnRows => InChannels * KernelHeight * KernelWidth;

    /// <summary>Pixels in one output plane, OutHeight * OutWidth (the columns of the im2col matrix).</summary>
    public int OutPlane => OutHeight * OutWidth;

    /// <summary>Elements of one input image, InChannels * InHeight * InWidth.</summary>
    public long InImage => (long)InChannels * InHeight * InWidth;

    /// <summary>Elements of one output image, OutChannels * OutPlane.</summary>
    public long OutImage => (long)OutChannels * OutPlane;

    /// <summary>
    /// True for a 1x1, stride-1, unpadded convolution: there the input image already is its
    /// im2col matrix, so the kernels skip the copy.
    /// </summary>
    public bool IsPointwise => KernelHeight == 1 && KernelWidth == 1 && StrideH == 1 && StrideW == 1 && PadH == 0 && PadW == 0;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the op and the offending values when a size
    /// is not positive, a padding is negative, the output would be empty, or a buffer would be
    /// too large to index with 32-bit sizes.
    /// </summary>
    public void Validate()
    {
        if (Batch < 1 || InChannels < 1 || InHeight < 1 || InWidth < 1 || OutChannels < 1 || KernelHeight < 1 || KernelWidth < 1)
            throw new ArgumentException(
                $"conv2d: sizes must be positive, got batch={Batch}, in_channels={InChannels}, input={InHeight}x{InWidth}, " +
                $"out_channels={OutChannels}, kernel={KernelHeight}x{KernelWidth}.");
        if (StrideH < 1 || StrideW < 1)
            throw new ArgumentException($"conv2d: stride must be at least 1, got {StrideH}x{StrideW}.");
        if (DilationH < 1 || DilationW < 1)
            throw new ArgumentException($"conv2d: dilation must be at least 1, got {DilationH}x{DilationW}.");
        if (PadH < 0 || PadW < 0)
            throw new ArgumentException($"conv2d: padding must not be negative, got {PadH}x{PadW}.");
        if (OutHeight < 1 || OutWidth < 1)
            throw new ArgumentException(
                $"conv2d: kernel {KernelHeight}x{KernelWidth} (dilation {DilationH}x{DilationW}) does not fit input " +
                $"{InHeight}x{InWidth} padded by {PadH}x{PadW}; output would be {OutHeight}x{OutWidth}.");
        // The kernels use int for per-image sizes and matrix dimensions (GEMM takes int), and long
        // only for offsets across the batch, so each per-image quantity must fit in an int.
        const long max = int.MaxValue;
        if ((long)InChannels * InHeight * InWidth > max || (long)OutChannels * OutHeight * OutWidth > max
            || (long)InChannels * KernelHeight * KernelWidth > max || (long)OutChannels * InChannels * KernelHeight * KernelWidth > max
            || (long)OutHeight * OutWidth > max)
            throw new ArgumentException(
                $"conv2d: one image of input {InChannels}x{InHeight}x{InWidth}, output {OutChannels}x{OutHeight}x{OutWidth} " +
                $"or weight {OutChannels}x{InChannels}x{KernelHeight}x{KernelWidth} has more than {int.MaxValue} elements.");
    }

    /// <summary>PyTorch's output-size formula, with a negative numerator meaning "no output".</summary>
    private static int OutSize(int input, int kernel, int stride, int pad, int dilation)
    {
        long span = (long)input + 2L * pad - (long)dilation * (kernel - 1) - 1;
        if (span < 0 || stride < 1) return 0;
        return (int)Math.Min(int.MaxValue, span / stride + 1);
    }
}
