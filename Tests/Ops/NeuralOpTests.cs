namespace Tensorium.Tests.Ops;

/// <summary>
/// conv2d, max-pool, softmax and attention as tensor ops: the wiring from Tensor to kernel
/// (layouts, views, broadcast masks, dims) against scalar references, plus float64 gradchecks.
/// The kernels' own edge cases are in Tests/Kernels.
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class NeuralOpTests(Device device)
{
    [Test]
    public void Conv2dOnTransposedInputMatchesDirectLoops()
    {
        // A non-contiguous NCHW input (made by transposing H and W) must be handled by the op.
        using var raw = Reference.Random([2, 3, 6, 7], device, 1);
        using var x = raw.Transpose(2, 3);                      // [2, 3, 7, 6]
        using var w = Reference.Random([4, 3, 3, 2], device, 2);
        using var b = Reference.Random([4], device, 3);
        using var y = x.Conv2d(w, b, (2, 1), (1, 0), (1, 2));
        var xs = x.Contiguous().ToDoubleArray(); var ws = w.ToDoubleArray(); var bs = b.ToDoubleArray();
        int n = 2, c = 3, h = 7, wd = 6, k = 4, r = 3, s = 2, oh = (h + 2 - 3) / 2 + 1, ow = (wd - 2 * (s - 1) - 1) + 1;
        Assert.That(y.Shape, Is.EqualTo(new[] { n, k, oh, ow }));
        var expected = new double[n * k * oh * ow];
        for (int i = 0; i < n; i++) for (int o = 0; o < k; o++) for (int p = 0; p < oh; p++) for (int q = 0; q < ow; q++)
        {
            double sum = bs[o];
            for (int ch = 0; ch < c; ch++) for (int u = 0; u < r; u++) for (int v = 0; v < s; v++)
            {
                int ih = p * 2 - 1 + u, iw = q + v * 2;
                if (ih >= 0 && ih < h && iw >= 0 && iw < wd)
                    sum += xs[((i * c + ch) * h + ih) * wd + iw] * ws[((o * c + ch) * r + u) * s + v];
            }
            expected[((i * k + o) * oh + p) * ow + q] = sum;
        }
        Reference.AssertClose(y.ToDoubleArray(), expected, 1e-5, 1e-4, "conv2d");
    }

    [Test]
    public void Conv2dGradients() =>
        Reference.AssertGradients(t => t[0].Conv2d(t[1], t[2], (1, 2), (2, 1), (2, 1)),
            Ref.Leaf([2, 2, 6, 5], device, 1), Ref.Leaf([3, 2, 2, 3], device, 2), Ref.Leaf([3], device, 3));

    [Test]
    public void Conv2dRejectsChannelMismatch()
    {
        using var x = Tensor.Zeros([1, 3, 5, 5], device: device);
        using var w = Tensor.Zeros([2, 4, 3, 3], device: device);
        var e = Assert.Throws<ArgumentException>(() => x.Conv2d(w));
        Assert.That(e!.Message, Does.Contain("conv2d").And.Contain("3 channels").And.Contain("[2, 4, 3, 3]"));
    }

    [Test]
    public void MaxPoolWithOverlappingWindowsMatchesLoops()
    {
        using var x = Reference.Random([2, 3, 9, 8], device, 4);
        using var y = x.MaxPool2d((3, 3), (2, 1), (1, 1));
        var xs = x.ToDoubleArray();
        int oh = (9 + 2 - 3) / 2 + 1, ow = (8 + 2 - 3) / 1 + 1;
        var expected = new double[2 * 3 * oh * ow];
        for (int pl = 0; pl < 6; pl++) for (int p = 0; p < oh; p++) for (int q = 0; q < ow; q++)
        {
            double m = double.NegativeInfinity;
            for (int u = 0; u < 3; u++) for (int v = 0; v < 3; v++)
            {
                int ih = p * 2 - 1 + u, iw = q - 1 + v;
                if (ih >= 0 && ih < 9 && iw >= 0 && iw < 8) m = Math.Max(m, xs[(pl * 9 + ih) * 8 + iw]);
            }
            expected[(pl * oh + p) * ow + q] = m;
        }
        Reference.AssertClose(y.ToDoubleArray(), expected, 0, 0, "max_pool2d");
    }

    [Test]
    public void MaxPoolGradients() =>
        Reference.AssertGradients(t => t[0].MaxPool2d((3, 2), (1, 2), (1, 1)), Ref.Leaf([2, 2, 5, 6], device, 5));

    [TestCase(-1)]
    [TestCase(1)]
    [TestCase(0)]
    public void SoftmaxAndLogSoftmaxAlongAnyDim(int dim)
    {
        using var x = Reference.Random([4, 5, 3], device, 6);
        using var scaled = x * 30.0;   // large logits: the op must be numerically stable
        using var y = scaled.Softmax(dim);
        using var ly = scaled.LogSoftmax(dim);
        var xs = scaled.ToDoubleArray();
        int[] shape = [4, 5, 3];
        int d = dim < 0 ? dim + 3 : dim;
        var strides = Reference.Strides(shape);
        var expected = new double[xs.Length];
        var expectedLog = new double[xs.Length];
        for (int i = 0; i < xs.Length; i++)
        {
            var idx = Reference.Unravel(i, shape);
            int start = i - idx[d] * strides[d];
            double max = Enumerable.Range(0, shape[d]).Max(j => xs[start + j * strides[d]]);
            double sum = Enumerable.Range(0, shape[d]).Sum(j => Math.Exp(xs[start + j * strides[d]] - max));
            expected[i] = Math.Exp(xs[i] - max) / sum;
            expectedLog[i] = xs[i] - max - Math.Log(sum);
        }
        Reference.AssertClose(y.ToDoubleArray(), expected, 1e-6, 1e-4, "softmax");
        Reference.AssertClose(ly.ToDoubleArray(), expectedLog, 1e-5, 1e-5, "log_softmax");
    }

    [Test]
    public void SoftmaxGradients()
    {
        Reference.AssertGradients(t => t[0].Softmax(1), Ref.Leaf([3, 4, 2], device, 7));
        Reference.AssertGradients(t => t[0].LogSoftmax(-1), Ref.Leaf([3, 4, 2], device, 8));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AttentionMatchesExplicitSoftmaxWithKeyPaddingMask(bool causal)
    {
        int b = 2, h = 3, lq = 5, lk = 7, d = 4, dv = 6;
        using var q = Reference.Random([b, h, lq, d], device, 9);
        using var k = Reference.Random([b, h, lk, d], device, 10);
        using var v = Reference.Random([b, h, lk, dv], device, 11);
        // Key padding: batch 0 hides its last two keys, batch 1 hides none; broadcast over heads and queries.
        var pad = new float[b * lk];
        pad[5] = pad[6] = float.NegativeInfinity;
        using var mask = Tensor.FromSpan<float>(pad, [b, 1, 1, lk], device);
        using var y = AttentionOp.ScaledDotProductAttention(q, k, v, mask, causal);

        // Reference: softmax(Q Kᵀ / sqrt(d) + mask) V with plain tensor ops and an explicit causal mask.
        using var scores = q.MatMul(k.Transpose(-1, -2)) * (1 / Math.Sqrt(d));
        var causalMask = new float[lq * lk];
        for (int i = 0; i < lq; i++) for (int j = 0; j < lk; j++) causalMask[i * lk + j] = causal && j > i ? float.NegativeInfinity : 0;
        using var cm = Tensor.FromSpan<float>(causalMask, [lq, lk], device);
        using var masked = scores + mask + cm;
        using var expected = masked.Softmax(-1).MatMul(v);
        Reference.AssertClose(y.ToDoubleArray(), expected.ToDoubleArray(), 1e-5, 1e-4, "attention");
    }

    [Test]
    public void AttentionGradients()
    {
        using var mask = Tensor.FromSpan<double>(Reference.Values(5 * 4, 12), [5, 4], device);
        Reference.AssertGradients(t => AttentionOp.ScaledDotProductAttention(t[0], t[1], t[2], mask, causal: true),
            Ref.Leaf([2, 5, 3], device, 13), Ref.Leaf([2, 4, 3], device, 14), Ref.Leaf([2, 4, 2], device, 15));
    }

    [Test]
    public void Float64AttentionUsesTheScaleUnrounded()
    {
        // 1/sqrt(3) is not a float: rounding it to float32 (as the geometry once did) shifts every
        // score by about 1e-8 relative, far outside float64's tolerance.
        int lq = 3, lk = 5, d = 3;
        using var q = Tensor.FromSpan<double>(Reference.Values(2 * lq * d, 21), [2, lq, d], device);
        using var k = Tensor.FromSpan<double>(Reference.Values(2 * lk * d, 22), [2, lk, d], device);
        using var v = Tensor.FromSpan<double>(Reference.Values(2 * lk * 2, 23), [2, lk, 2], device);
        double scale = 1 / Math.Sqrt(3) * 40;   // a large scale makes the rounding visible through the softmax
        using var y = AttentionOp.ScaledDotProductAttention(q, k, v, scale: scale);
        using var scores = q.MatMul(k.Transpose(-1, -2)) * scale;
        using var expected = scores.Softmax(-1).MatMul(v);
        Reference.AssertClose(y.ToDoubleArray(), expected.ToDoubleArray(), 1e-12, 1e-12, "float64 attention");
    }

    [Test]
    public void AttentionRejectsMismatchedHeadDims()
    {
        using var q = Tensor.Zeros([2, 5, 4], device: device);
        using var k = Tensor.Zeros([2, 6, 3], device: device);
        using var v = Tensor.Zeros([2, 6, 3], device: device);
        var e = Assert.Throws<ArgumentException>(() => AttentionOp.ScaledDotProductAttention(q, k, v));
        Assert.That(e!.Message, Does.Contain("scaled_dot_product_attention").And.Contain("[2, 5, 4]"));
    }
}
