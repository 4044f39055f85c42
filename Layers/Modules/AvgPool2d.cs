namespace Tensorium.Layers;

/// <summary>
/// Average pooling over NCHW input (torch.nn.AvgPool2d); stride defaults to the window size.
/// With <see cref="CountIncludePad"/> (PyTorch's default) zero padding counts towards the
/// average; without it each window divides by the input positions it covers. In
/// <see cref="CeilMode"/> a last partial window is kept, averaged over the part inside the
/// padded input (as PyTorch).
/// There is no pooling kernel for averages: when windows tile the input (stride = kernel, no
/// padding, floor mode) it is a reshape to [N, C, Ho, k, Wo, k] and a mean; otherwise it adds
/// up the k*k strided views x[:, :, i::s, j::s] of the zero-padded input and divides by each
/// window's count. Both are built from differentiable ops, so the gradient comes for free.
/// </summary>
public sealed class AvgPool2d : Module
{
    /// <summary>Creates the layer with a square window of <paramref name="kernelSize"/>.</summary>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true)
    {
        if (kernelSize <= 0 || stride is <= 0)
            throw new ArgumentException($"AvgPool2d: kernel size and stride must be positive, got kernel {kernelSize}, stride {stride}.");
        if (padding < 0 || padding > kernelSize / 2)
            throw new ArgumentException($"AvgPool2d: padding must be between 0 and half the kernel size ({kernelSize / 2}), got {padding}.");
        KernelSize = kernelSize;
        Stride = stride ?? kernelSize;
        Padding = padding;
        CeilMode = ceilMode;
        CountIncludePad = countIncludePad;
    }

    /// <summary>Window size.</summary>
    public int KernelSize { get; }
    /// <summary>Step between windows.</summary>
    public int Stride { get; }
    /// <summary>Zeros added on each side of both spatial dimensions.</summary>
    public int Padding { get; }
    /// <summary>Whether a last partial window is kept (output size rounded up).</summary>
    public bool CeilMode { get; }
    /// <summary>Whether padding zeros count towards each average.</summary>
    public bool CountIncludePad { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4 || !input.DType.IsFloating())
            throw new ArgumentException($"AvgPool2d: expected a floating input [N, C, H, W], got {input.DType.Name()} {Layout.Format(input.Layout.Shape)}.");
        int k = KernelSize, s = Stride, p = Padding;
        int h = input.Layout.Shape[2], w = input.Layout.Shape[3];
        int outH = PoolingGeometry.OutputSize(h, k, s, p, 1, CeilMode), outW = PoolingGeometry.OutputSize(w, k, s, p, 1, CeilMode);
        if (outH < 1 || outW < 1)
            throw new ArgumentException($"AvgPool2d: the {k}x{k} window does not fit input {Layout.Format(input.Layout.Shape)} with padding {p}.");

        if (s == k && p == 0 && !CeilMode)
        {
            using var croppedRows = input.Narrow(2, 0, outH * k);
            using var cropped = croppedRows.Narrow(3, 0, outW * k);
            using var windows = cropped.Reshape(input.Layout.Shape[0], input.Layout.Shape[1], outH, k, outW, k);
            return windows.Mean([3, 5]);
        }

        int extraH = PoolingGeometry.ExtraEnd(h, outH, k, s, p, 1), extraW = PoolingGeometry.ExtraEnd(w, outW, k, s, p, 1);
        using var padded = SpatialPadding.Pad("AvgPool2d", input, (p, p + extraH, p, p + extraW), PaddingMode.Zeros);
        Tensor? sum = null;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
            {
                using var rows = padded.Slice(2, i, i + s * (outH - 1) + 1, s);
                using var tap = rows.Slice(3, j, j + s * (outW - 1) + 1, s);
                if (sum == null) { sum = tap.Contiguous(); continue; }
                using var previous = sum;
                sum = previous + tap;
            }
        using (sum)
        using (var divisor = Divisors(h, w, outH, outW, input))
            return sum! / divisor;
    }

    /// <summary>
    /// Each window's divisor as an [outH, outW] tensor, from the geometry alone (PyTorch's rule):
    /// the window clipped to the padded input, or with <see cref="CountIncludePad"/> off, to the input.
    /// </summary>
    private Tensor Divisors(int h, int w, int outH, int outW, Tensor like)
    {
        var counts = new double[outH * outW];
        for (int oh = 0; oh < outH; oh++)
            for (int ow = 0; ow < outW; ow++)
            {
                var (rows, inRows) = Extent(oh, h);
                var (cols, inCols) = Extent(ow, w);
                counts[oh * outW + ow] = CountIncludePad ? rows * cols : inRows * inCols;
            }
        using var host = Tensor.FromSpan<double>(counts, [outH, outW], like.Device);
        return host.To(like.DType);
    }

    /// <summary>Positions of window <paramref name="o"/> inside the padded axis, and inside the input itself.</summary>
    private (int Padded, int Input) Extent(int o, int size)
    {
        int start = o * Stride - Padding, end = Math.Min(start + KernelSize, size + Padding);
        return (end - start, Math.Min(end, size) - Math.Max(start, 0));
    }
}
