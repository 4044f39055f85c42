namespace Tensorium.Layers;

/// <summary>
/// Max pooling over NCHW input, as torch.nn.MaxPool2d; stride defaults to the window size.
/// Padding is implicit -inf (never the maximum). With <see cref="Dilation"/> &gt; 1 the window's
/// taps are that far apart; in <see cref="CeilMode"/> a last partial window is kept (PyTorch's
/// ceil_mode). The plain case runs the max-pool kernel; ceil mode pads the input's end with
/// -inf for it, and dilation is composed from strided views and elementwise maxima, so every
/// backend runs it and the gradient comes from those ops (on an exact tie inside a dilated
/// window the gradient is shared, as elementwise maximum does, where PyTorch gives it to one tap).
/// </summary>
public sealed class MaxPool2d : Module
{
    /// <summary>Creates the layer with a square window of <paramref name="kernelSize"/>.</summary>
    public MaxPool2d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
    {
        if (kernelSize <= 0 || stride is <= 0 || dilation <= 0)
            throw new ArgumentException($"MaxPool2d: kernel size, stride and dilation must be positive, got kernel {kernelSize}, stride {stride}, dilation {dilation}.");
        if (padding < 0 || padding > kernelSize / 2)
            throw new ArgumentException($"MaxPool2d: padding must be between 0 and half the kernel size ({kernelSize / 2}), got {padding}.");
        KernelSize = kernelSize;
        Stride = stride ?? kernelSize;
        Padding = padding;
        Dilation = dilation;
        CeilMode = ceilMode;
    }

    /// <summary>Window size.</summary>
    public int KernelSize { get; }
    /// <summary>Step between windows.</summary>
    public int Stride { get; }
    /// <summary>Implicit -inf padding per side.</summary>
    public int Padding { get; }
    /// <summary>Distance between the window's taps (1: adjacent).</summary>
    public int Dilation { get; }
    /// <summary>Whether a last partial window is kept (output size rounded up).</summary>
    public bool CeilMode { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4 || !input.DType.IsFloating())
            throw new ArgumentException($"MaxPool2d: expected a floating input [N, C, H, W], got {input.DType.Name()} {Layout.Format(input.Layout.Shape)}.");
        if (Dilation == 1 && !CeilMode) return input.MaxPool2d(KernelSize, Stride, Padding);

        int k = KernelSize, s = Stride, p = Padding, d = Dilation;
        int h = input.Layout.Shape[2], w = input.Layout.Shape[3];
        int outH = PoolingGeometry.OutputSize(h, k, s, p, d, CeilMode), outW = PoolingGeometry.OutputSize(w, k, s, p, d, CeilMode);
        if (outH < 1 || outW < 1)
            throw new ArgumentException($"MaxPool2d: the {k}x{k} window with dilation {d} does not fit input {Layout.Format(input.Layout.Shape)} with padding {p}.");
        int extraH = PoolingGeometry.ExtraEnd(h, outH, k, s, p, d), extraW = PoolingGeometry.ExtraEnd(w, outW, k, s, p, d);

        if (d == 1)
        {
            // Ceil mode only: -inf rows and columns at the end make the last partial window whole.
            using var extended = SpatialPadding.Pad("MaxPool2d", input, (0, extraH, 0, extraW), PaddingMode.Zeros, double.NegativeInfinity);
            return extended.MaxPool2d(k, s, p);
        }

        using var padded = SpatialPadding.Pad("MaxPool2d", input, (p, p + extraH, p, p + extraW), PaddingMode.Zeros, double.NegativeInfinity);
        Tensor? result = null;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
            {
                using var rows = padded.Slice(2, i * d, i * d + s * (outH - 1) + 1, s);
                using var tap = rows.Slice(3, j * d, j * d + s * (outW - 1) + 1, s);
                if (result == null) { result = tap.Contiguous(); continue; }
                using var previous = result;
                result = previous.Maximum(tap);
            }
        return result!;
    }
}
