namespace Tensorium.Layers;

/// <summary>
/// Average pooling over NCHW input (torch.nn.AvgPool2d); stride defaults to the window size.
/// Zero padding counts towards the average (PyTorch's default count_include_pad=True), and
/// windows that do not fit are dropped (floor mode).
/// There is no pooling kernel for averages: when windows tile the input (stride = kernel, no
/// padding) it is a reshape to [N, C, Ho, k, Wo, k] and a mean; otherwise it adds up the k*k
/// strided views x[:, :, i::s, j::s]. Both are built from differentiable ops, so the gradient
/// comes for free.
/// </summary>
public sealed class AvgPool2d : Module
{
    /// <summary>Creates the layer with a square window of <paramref name="kernelSize"/>.</summary>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0)
    {
        if (kernelSize <= 0 || stride is <= 0)
            throw new ArgumentException($"AvgPool2d: kernel size and stride must be positive, got kernel {kernelSize}, stride {stride}.");
        if (padding < 0 || padding > kernelSize / 2)
            throw new ArgumentException($"AvgPool2d: padding must be between 0 and half the kernel size ({kernelSize / 2}), got {padding}.");
        KernelSize = kernelSize;
        Stride = stride ?? kernelSize;
        Padding = padding;
    }

    /// <summary>Window size.</summary>
    public int KernelSize { get; }
    /// <summary>Step between windows.</summary>
    public int Stride { get; }
    /// <summary>Zeros added on each side of both spatial dimensions.</summary>
    public int Padding { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4 || !input.DType.IsFloating())
            throw new ArgumentException($"AvgPool2d: expected a floating input [N, C, H, W], got {input.DType.Name()} {Layout.Format(input.Layout.Shape)}.");
        int k = KernelSize, s = Stride, p = Padding;
        int h = input.Layout.Shape[2] + 2 * p, w = input.Layout.Shape[3] + 2 * p;
        if (h < k || w < k)
            throw new ArgumentException($"AvgPool2d: the {k}x{k} window does not fit input {Layout.Format(input.Layout.Shape)} with padding {p}.");
        int outH = (h - k) / s + 1, outW = (w - k) / s + 1;

        using var padded = p == 0 ? null : Pad(input, p);
        var x = padded ?? input;
        if (s == k)
        {
            using var croppedRows = x.Narrow(2, 0, outH * k);
            using var cropped = croppedRows.Narrow(3, 0, outW * k);
            using var windows = cropped.Reshape(x.Layout.Shape[0], x.Layout.Shape[1], outH, k, outW, k);
            return windows.Mean([3, 5]);
        }

        Tensor? sum = null;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
            {
                using var rows = x.Slice(2, i, i + s * (outH - 1) + 1, s);
                using var tap = rows.Slice(3, j, j + s * (outW - 1) + 1, s);
                if (sum == null) { sum = tap.Contiguous(); continue; }
                using var previous = sum;
                sum = previous + tap;
            }
        using (sum)
            return sum! / (k * k);
    }

    /// <summary>Zero padding of both spatial dimensions by concatenating zero blocks (recorded, so gradients flow).</summary>
    private static Tensor Pad(Tensor x, int p)
    {
        int n = x.Layout.Shape[0], c = x.Layout.Shape[1], h = x.Layout.Shape[2], w = x.Layout.Shape[3];
        using var side = Tensor.Zeros([n, c, h, p], x.DType, x.Device);
        using var wide = Joining.Concat([side, x, side], 3);
        using var band = Tensor.Zeros([n, c, p, w + 2 * p], x.DType, x.Device);
        return Joining.Concat([band, wide, band], 2);
    }
}
