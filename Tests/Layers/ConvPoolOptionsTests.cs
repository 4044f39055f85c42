using Tensorium.Layers;

namespace Tensorium.Tests.Layers;

/// <summary>
/// Conv2d groups (depthwise), padding modes and 'same' for even kernels; MaxPool2d dilation and
/// ceil mode; AvgPool2d ceil mode and count_include_pad: against scalar loops written from
/// PyTorch's definitions, on awkward shapes, with float64 gradient checks.
/// </summary>
public class ConvPoolOptionsTests
{
    /// <summary>Position <paramref name="i"/> of an axis of <paramref name="size"/> read through a padding mode; -1 for a zero.</summary>
    private static int Source(int i, int size, PaddingMode mode)
    {
        if (i >= 0 && i < size) return i;
        return mode switch
        {
            PaddingMode.Zeros => -1,
            PaddingMode.Reflect => i < 0 ? -i : 2 * (size - 1) - i,
            PaddingMode.Replicate => Math.Clamp(i, 0, size - 1),
            _ => ((i % size) + size) % size,
        };
    }

    /// <summary>Grouped, strided, dilated cross-correlation of NCHW x with [out, in/groups, kh, kw] weights over the padded input.</summary>
    private static double[] ConvReference(double[] x, int n, int cin, int h, int w, double[] weight, int cout, int kh, int kw, double[]? bias,
        int groups, int stride, int dilation, (int Top, int Bottom, int Left, int Right) pad, PaddingMode mode, out int oh, out int ow)
    {
        oh = (h + pad.Top + pad.Bottom - dilation * (kh - 1) - 1) / stride + 1;
        ow = (w + pad.Left + pad.Right - dilation * (kw - 1) - 1) / stride + 1;
        int inG = cin / groups, outG = cout / groups;
        var y = new double[n * cout * oh * ow];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cout; o++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        double s = bias?[o] ?? 0;
                        int g = o / outG;
                        for (int c = 0; c < inG; c++)
                            for (int a = 0; a < kh; a++)
                                for (int e = 0; e < kw; e++)
                                {
                                    int r = Source(i * stride + a * dilation - pad.Top, h, mode), q = Source(j * stride + e * dilation - pad.Left, w, mode);
                                    if (r < 0 || q < 0) continue;
                                    s += weight[((o * inG + c) * kh + a) * kw + e] * x[((b * cin + g * inG + c) * h + r) * w + q];
                                }
                        y[((b * cout + o) * oh + i) * ow + j] = s;
                    }
        return y;
    }

    private static double[] Run(Conv2d conv, Tensor x, (int, int, int, int) pad, out int[] shape)
    {
        int n = x.Size(0), h = x.Size(2), w = x.Size(3);
        var y = ConvReference(x.ToDoubleArray(), n, conv.InChannels, h, w, conv.Weight.ToDoubleArray(), conv.OutChannels, conv.KernelSize.H, conv.KernelSize.W,
            conv.Bias?.ToDoubleArray(), conv.Groups, conv.Stride.H, conv.Dilation.H, pad, conv.PaddingMode, out int oh, out int ow);
        shape = [n, conv.OutChannels, oh, ow];
        return y;
    }

    private static Conv2d Make(int cin, int cout, int k, int stride = 1, Padding padding = default, int dilation = 1, int groups = 1,
        PaddingMode mode = PaddingMode.Zeros, (int H, int W)? kernel = null)
    {
        var conv = kernel is { } kk
            ? new Conv2d(cin, cout, kk, (stride, stride), padding, (dilation, dilation), generator: new Generator(3), groups: groups, paddingMode: mode)
            : new Conv2d(cin, cout, k, stride, padding, dilation, generator: new Generator(3), groups: groups, paddingMode: mode);
        return conv;
    }

    [Test]
    public void ConvExposesItsOptions()
    {
        using var conv = new Conv2d(4, 6, (3, 5), (2, 1), (1, 2), (1, 3), groups: 2, paddingMode: PaddingMode.Reflect);
        Assert.That(conv.Stride, Is.EqualTo((2, 1)));
        Assert.That(conv.Dilation, Is.EqualTo((1, 3)));
        Assert.That((conv.Padding.Height, conv.Padding.Width), Is.EqualTo((1, 2)));
        Assert.That(conv.Groups, Is.EqualTo(2));
        Assert.That(conv.PaddingMode, Is.EqualTo(PaddingMode.Reflect));
        Assert.That(conv.KernelSize, Is.EqualTo((3, 5)));
    }

    [TestCase(4, 6, 3, 2, 1, 1, 2, PaddingMode.Zeros, TestName = "Conv_TwoGroupsStrided")]
    [TestCase(3, 6, 3, 1, 2, 2, 3, PaddingMode.Zeros, TestName = "Conv_DepthwiseDilated")]
    [TestCase(3, 5, 3, 1, 2, 1, 1, PaddingMode.Reflect, TestName = "Conv_Reflect")]
    [TestCase(2, 4, 3, 2, 1, 1, 2, PaddingMode.Replicate, TestName = "Conv_ReplicateGroups")]
    [TestCase(3, 2, 3, 1, 2, 2, 1, PaddingMode.Circular, TestName = "Conv_CircularDilated")]
    public void GroupsAndPaddingModesMatchReference(int cin, int cout, int k, int stride, int padding, int dilation, int groups, PaddingMode mode)
    {
        using var scope = new TensorScope();
        using var conv = Make(cin, cout, k, stride, padding, dilation, groups, mode);
        Assert.That(conv.Weight.Shape, Is.EqualTo(new[] { cout, cin / groups, k, k }));
        var x = ModuleGradCheck.Data([2, cin, 7, 9], seed: 5, dtype: DType.Float32);
        var expected = Run(conv, x, (padding, padding, padding, padding), out var shape);
        var y = conv.Forward(x);
        Assert.That(y.Shape, Is.EqualTo(shape));
        Reference.AssertClose(y.ToDoubleArray(), expected, 1e-5, 1e-4, $"{mode} groups {groups}");
    }

    [TestCase(4, 4, 1, PaddingMode.Zeros)]
    [TestCase(2, 3, 1, PaddingMode.Reflect)]
    [TestCase(3, 2, 3, PaddingMode.Replicate)]
    [TestCase(2, 2, 2, PaddingMode.Zeros)]
    public void SameWithEvenKernelsPadsTheExtraAtTheEnd(int kh, int kw, int dilation, PaddingMode mode)
    {
        using var scope = new TensorScope();
        using var conv = Make(2, 3, 0, 1, Padding.Same, dilation, mode: mode, kernel: (kh, kw));
        int th = dilation * (kh - 1), tw = dilation * (kw - 1);
        var pad = (th / 2, th - th / 2, tw / 2, tw - tw / 2);   // PyTorch: the odd one at the bottom and right
        Assert.That(conv.SidePadding, Is.EqualTo(pad));
        var x = ModuleGradCheck.Data([2, 2, 6, 7], seed: 6, dtype: DType.Float32);
        var expected = Run(conv, x, pad, out var shape);
        Assert.That(shape, Is.EqualTo(new[] { 2, 3, 6, 7 }));
        Reference.AssertClose(conv.Forward(x).ToDoubleArray(), expected, 1e-5, 1e-4, "same");
    }

    [Test]
    public void GroupedReflectSameConvGradCheckInFloat64()
    {
        using var scope = new TensorScope();
        using var conv = Make(4, 2, 0, 1, Padding.Same, 1, groups: 2, mode: PaddingMode.Reflect, kernel: (2, 3));
        conv.To(DType.Float64);
        var x = ModuleGradCheck.Data([1, 4, 4, 3], seed: 7, requiresGrad: true);
        ModuleGradCheck.AssertGradients(conv, xs => conv.Forward(xs[0]), [x]);
    }

    [Test]
    public void DepthwiseCircularConvGradCheckInFloat64()
    {
        using var scope = new TensorScope();
        using var conv = Make(3, 3, 3, 2, 1, 1, groups: 3, mode: PaddingMode.Circular);
        conv.To(DType.Float64);
        var x = ModuleGradCheck.Data([2, 3, 5, 4], seed: 8, requiresGrad: true);
        ModuleGradCheck.AssertGradients(conv, xs => conv.Forward(xs[0]), [x]);
    }

    [Test]
    public void ConvOptionsAreChecked()
    {
        using var scope = new TensorScope();
        Ref.Throws<ArgumentException>(() => new Conv2d(4, 6, 3, groups: 4), "Conv2d", "4 groups", "out 6");
        using var conv = new Conv2d(2, 2, 3, padding: 3, paddingMode: PaddingMode.Reflect);
        Ref.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros([1, 2, 3, 5])), "Conv2d", "reflect padding", "input size 3");
        Ref.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros([1, 3, 8, 8])), "Conv2d", "[N, 2, H, W]", "[1, 3, 8, 8]");
    }

    // ---- Pooling ----------------------------------------------------------------------------------

    private static int OutSize(int size, int k, int s, int p, int d, bool ceil)
    {
        // PyTorch's pooling_output_shape.
        int span = size + 2 * p - d * (k - 1) - 1;
        int o = (int)Math.Floor((double)(span + (ceil ? s - 1 : 0)) / s) + 1;
        if (ceil && (o - 1) * s >= size + p) o--;
        return o;
    }

    private static double[] MaxPoolReference(double[] x, int planes, int h, int w, int k, int s, int p, int d, bool ceil, out int oh, out int ow)
    {
        oh = OutSize(h, k, s, p, d, ceil);
        ow = OutSize(w, k, s, p, d, ceil);
        var y = new double[planes * oh * ow];
        for (int c = 0; c < planes; c++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    double m = double.NegativeInfinity;
                    for (int a = 0; a < k; a++)
                        for (int b = 0; b < k; b++)
                        {
                            int r = i * s - p + a * d, q = j * s - p + b * d;
                            if (r >= 0 && r < h && q >= 0 && q < w) m = Math.Max(m, x[(c * h + r) * w + q]);
                        }
                    y[(c * oh + i) * ow + j] = m;
                }
        return y;
    }

    private static double[] AvgPoolReference(double[] x, int planes, int h, int w, int k, int s, int p, bool ceil, bool includePad, out int oh, out int ow)
    {
        oh = OutSize(h, k, s, p, 1, ceil);
        ow = OutSize(w, k, s, p, 1, ceil);
        var y = new double[planes * oh * ow];
        for (int c = 0; c < planes; c++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    // PyTorch's avg_pool2d: the window clipped to the padded input counts padding; clipped to the input it does not.
                    int h0 = i * s - p, w0 = j * s - p, h1 = Math.Min(h0 + k, h + p), w1 = Math.Min(w0 + k, w + p);
                    int poolSize = (h1 - h0) * (w1 - w0);
                    h0 = Math.Max(h0, 0); w0 = Math.Max(w0, 0); h1 = Math.Min(h1, h); w1 = Math.Min(w1, w);
                    double sum = 0;
                    for (int r = h0; r < h1; r++)
                        for (int q = w0; q < w1; q++) sum += x[(c * h + r) * w + q];
                    y[(c * oh + i) * ow + j] = sum / (includePad ? poolSize : (h1 - h0) * (w1 - w0));
                }
        return y;
    }

    [TestCase(3, 2, 1, 2, true, 9, 8)]
    [TestCase(2, 2, 0, 1, true, 7, 5)]
    [TestCase(3, 2, 1, 1, true, 6, 9)]
    [TestCase(2, 2, 1, 1, true, 5, 5)]    // the 4th window would start in the right padding: dropped
    [TestCase(2, 1, 1, 3, false, 7, 6)]
    [TestCase(3, 3, 0, 2, false, 10, 8)]
    public void MaxPoolDilationAndCeilModeMatchReference(int k, int s, int p, int d, bool ceil, int h, int w)
    {
        using var scope = new TensorScope();
        var pool = new MaxPool2d(k, s, p, d, ceil);
        var x = ModuleGradCheck.Data([2, 3, h, w], seed: 11, dtype: DType.Float32);
        var expected = MaxPoolReference(x.ToDoubleArray(), 6, h, w, k, s, p, d, ceil, out int oh, out int ow);
        var y = pool.Forward(x);
        Assert.That(y.Shape, Is.EqualTo(new[] { 2, 3, oh, ow }));
        Reference.AssertClose(y.ToDoubleArray(), expected, 0, 0, "max pool");
    }

    [TestCase(3, 2, 1, 2, true)]
    [TestCase(2, 2, 0, 1, true)]
    public void MaxPoolOptionsGradCheckInFloat64(int k, int s, int p, int d, bool ceil)
    {
        using var scope = new TensorScope();
        var pool = new MaxPool2d(k, s, p, d, ceil);
        var x = ModuleGradCheck.Data([1, 2, 7, 6], seed: 12, requiresGrad: true);
        Reference.AssertGradients(xs => pool.Forward(xs[0]), x);
    }

    [TestCase(3, 2, 1, true, true, 8, 7)]
    [TestCase(3, 2, 1, true, false, 8, 7)]
    [TestCase(3, 2, 1, false, false, 6, 9)]
    [TestCase(2, 2, 0, true, true, 7, 5)]
    [TestCase(3, 3, 1, true, false, 7, 8)]
    [TestCase(2, 2, 1, true, true, 5, 5)]
    public void AvgPoolCeilModeAndCountIncludePadMatchReference(int k, int s, int p, bool ceil, bool includePad, int h, int w)
    {
        using var scope = new TensorScope();
        var pool = new AvgPool2d(k, s, p, ceil, includePad);
        var x = ModuleGradCheck.Data([2, 3, h, w], seed: 13, dtype: DType.Float32);
        var expected = AvgPoolReference(x.ToDoubleArray(), 6, h, w, k, s, p, ceil, includePad, out int oh, out int ow);
        var y = pool.Forward(x);
        Assert.That(y.Shape, Is.EqualTo(new[] { 2, 3, oh, ow }));
        Reference.AssertClose(y.ToDoubleArray(), expected, 1e-6, 1e-5, "avg pool");
    }

    [TestCase(3, 2, 1, true, false)]
    [TestCase(2, 2, 1, true, true)]
    public void AvgPoolOptionsGradCheckInFloat64(int k, int s, int p, bool ceil, bool includePad)
    {
        using var scope = new TensorScope();
        var pool = new AvgPool2d(k, s, p, ceil, includePad);
        var x = ModuleGradCheck.Data([1, 2, 5, 6], seed: 14, requiresGrad: true);
        Reference.AssertGradients(xs => pool.Forward(xs[0]), x);
    }

    [Test]
    public void PoolOptionsAreChecked()
    {
        Ref.Throws<ArgumentException>(() => new MaxPool2d(2, dilation: 0), "MaxPool2d", "dilation 0");
        Ref.Throws<ArgumentException>(() => new MaxPool2d(2, padding: 2), "MaxPool2d", "padding");
        using var scope = new TensorScope();
        Ref.Throws<ArgumentException>(() => new MaxPool2d(3, dilation: 3).Forward(Tensor.Zeros([1, 1, 6, 6])), "MaxPool2d", "does not fit");
    }
}
