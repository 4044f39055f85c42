using Tensorium.Layers;

namespace Tensorium.Tests.Layers;

/// <summary>
/// MultiHeadAttention's kdim/vdim (separate q/k/v projections with PyTorch's names) and the
/// attention weights it returns (need_weights), against a scalar reference in plain doubles,
/// with float64 gradient checks.
/// </summary>
public class AttentionOptionsTests
{
    /// <summary>x [rows, inDim] times wᵀ (w [outDim, inDim]) plus bias[offset..], in doubles.</summary>
    private static double[] Project(double[] x, int rows, int inDim, double[] w, int outDim, double[] bias, int offset)
    {
        var y = new double[rows * outDim];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outDim; o++)
            {
                double s = bias[offset + o];
                for (int i = 0; i < inDim; i++) s += x[r * inDim + i] * w[o * inDim + i];
                y[r * outDim + o] = s;
            }
        return y;
    }

    /// <summary>
    /// The reference for batch-first input: projections, per-head softmax(q kᵀ / sqrt(d)) with
    /// padded keys hidden, heads joined and out_proj. Returns the output [B, Lq, E] and the
    /// per-head weights [B, H, Lq, Lk].
    /// </summary>
    private static (double[] Output, double[] Weights) ScalarReference(MultiHeadAttention mha, double[] query, double[] key, double[] value,
        int b, int lq, int lk, bool[,]? padded)
    {
        int e = mha.EmbedDim, h = mha.NumHeads, d = e / h;
        var bias = mha.InProjBias!.ToDoubleArray();
        double[] W(Tensor? separate, int which) => separate?.ToDoubleArray() ?? mha.InProjWeight!.ToDoubleArray().Skip(which * e * e).Take(e * e).ToArray();
        var q = Project(query, b * lq, e, W(mha.QProjWeight, 0), e, bias, 0);
        var k = Project(key, b * lk, mha.KDim, W(mha.KProjWeight, 1), e, bias, e);
        var v = Project(value, b * lk, mha.VDim, W(mha.VProjWeight, 2), e, bias, 2 * e);
        var joined = new double[b * lq * e];
        var weights = new double[b * h * lq * lk];
        for (int n = 0; n < b; n++)
            for (int hh = 0; hh < h; hh++)
                for (int i = 0; i < lq; i++)
                {
                    var scores = new double[lk];
                    for (int j = 0; j < lk; j++)
                    {
                        double s = 0;
                        for (int c = 0; c < d; c++) s += q[(n * lq + i) * e + hh * d + c] * k[(n * lk + j) * e + hh * d + c];
                        scores[j] = padded != null && padded[n, j] ? double.NegativeInfinity : s / Math.Sqrt(d);
                    }
                    double max = scores.Max(), total = scores.Sum(s => Math.Exp(s - max));
                    for (int j = 0; j < lk; j++)
                    {
                        double p = Math.Exp(scores[j] - max) / total;
                        weights[((n * h + hh) * lq + i) * lk + j] = p;
                        for (int c = 0; c < d; c++) joined[(n * lq + i) * e + hh * d + c] += p * v[(n * lk + j) * e + hh * d + c];
                    }
                }
        var output = Project(joined, b * lq, e, mha.OutProj.Weight.ToDoubleArray(), e, mha.OutProj.Bias!.ToDoubleArray(), 0);
        return (output, weights);
    }

    private static double[] AverageHeads(double[] weights, int b, int h, int lq, int lk)
    {
        var avg = new double[b * lq * lk];
        for (int n = 0; n < b; n++)
            for (int hh = 0; hh < h; hh++)
                for (int x = 0; x < lq * lk; x++)
                    avg[n * lq * lk + x] += weights[(n * h + hh) * lq * lk + x] / h;
        return avg;
    }

    private static MultiHeadAttention Layer(int e, int h, int? kdim, int? vdim, DType dtype = DType.Float32)
    {
        var mha = new MultiHeadAttention(e, h, generator: new Generator(9), kdim: kdim, vdim: vdim);
        if (dtype != DType.Float32) mha.To(dtype);
        ModuleGradCheck.Set(mha.InProjBias!, Reference.Values(3 * e, 41).Select(v => v * 0.5).ToArray());
        ModuleGradCheck.Set(mha.OutProj.Bias!, Reference.Values(e, 42).Select(v => v * 0.5).ToArray());
        return mha;
    }

    [Test]
    public void KdimAndVdimUseSeparateProjectionsWithPyTorchNames()
    {
        using var mha = new MultiHeadAttention(8, 2, kdim: 5, vdim: 3);
        Assert.That(mha.NamedParameters().Select(p => p.Name),
            Is.EqualTo(new[] { "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias" }));
        Assert.That(mha.QProjWeight!.Shape, Is.EqualTo(new[] { 8, 8 }));
        Assert.That(mha.KProjWeight!.Shape, Is.EqualTo(new[] { 8, 5 }));
        Assert.That(mha.VProjWeight!.Shape, Is.EqualTo(new[] { 8, 3 }));
        Assert.That(mha.InProjWeight, Is.Null);
        double bound = Math.Sqrt(6.0 / (8 + 5));   // xavier_uniform_ on [E, kdim]
        Assert.That(mha.KProjWeight!.ToDoubleArray().Max(Math.Abs), Is.LessThanOrEqualTo(bound).And.GreaterThan(0.7 * bound));
        using var same = new MultiHeadAttention(8, 2, kdim: 8, vdim: 8);
        Assert.That(same.NamedParameters().First().Name, Is.EqualTo("in_proj_weight"), "equal widths keep the packed weight, as PyTorch");
    }

    [Test]
    public void KdimVdimCrossAttentionAndWeightsMatchScalarReference()
    {
        using var scope = new TensorScope();
        const int b = 3, lq = 5, lk = 7, e = 6, h = 3, kdim = 4, vdim = 9;
        using var mha = Layer(e, h, kdim, vdim);
        var q = ModuleGradCheck.Data([b, lq, e], 51, dtype: DType.Float32);
        var k = ModuleGradCheck.Data([b, lk, kdim], 52, dtype: DType.Float32);
        var v = ModuleGradCheck.Data([b, lk, vdim], 53, dtype: DType.Float32);
        var padded = new bool[b, lk];
        padded[0, 6] = padded[1, 0] = padded[1, 3] = padded[2, 2] = true;
        var kpm = Tensor.FromArray(Enumerable.Range(0, b * lk).Select(i => padded[i / lk, i % lk] ? 1L : 0L).ToArray(), b, lk);
        var (expected, expectedWeights) = ScalarReference(mha, q.ToDoubleArray(), k.ToDoubleArray(), v.ToDoubleArray(), b, lq, lk, padded);

        Reference.AssertClose(mha.Forward(q, k, v, keyPaddingMask: kpm).ToDoubleArray(), expected, 1e-5, 1e-4, "output");
        var (output, averaged) = mha.ForwardWithWeights(q, k, v, keyPaddingMask: kpm);
        Reference.AssertClose(output.ToDoubleArray(), expected, 1e-5, 1e-4, "output with weights");
        Assert.That(averaged.Shape, Is.EqualTo(new[] { b, lq, lk }));
        Reference.AssertClose(averaged.ToDoubleArray(), AverageHeads(expectedWeights, b, h, lq, lk), 1e-6, 1e-4, "weights averaged over heads");
        var (_, perHead) = mha.ForwardWithWeights(q, k, v, keyPaddingMask: kpm, averageAttnWeights: false);
        Assert.That(perHead.Shape, Is.EqualTo(new[] { b, h, lq, lk }));
        Reference.AssertClose(perHead.ToDoubleArray(), expectedWeights, 1e-6, 1e-4, "weights per head");
    }

    [Test]
    public void WeightsForUnbatchedAndSequenceFirstInput()
    {
        using var scope = new TensorScope();
        using var mha = Layer(4, 2, null, null);
        var x = ModuleGradCheck.Data([3, 4], 61, dtype: DType.Float32);   // unbatched [L, E]
        var (_, expectedWeights) = ScalarReference(mha, x.ToDoubleArray(), x.ToDoubleArray(), x.ToDoubleArray(), 1, 3, 3, null);
        var (output, weights) = mha.ForwardWithWeights(x, x, x, averageAttnWeights: false);
        Assert.That(output.Shape, Is.EqualTo(new[] { 3, 4 }));
        Assert.That(weights.Shape, Is.EqualTo(new[] { 2, 3, 3 }));
        Reference.AssertClose(weights.ToDoubleArray(), expectedWeights, 1e-6, 1e-4, "unbatched per-head weights");
        Assert.That(mha.ForwardWithWeights(x, x, x).Weights.Shape, Is.EqualTo(new[] { 3, 3 }));

        using var seqFirst = new MultiHeadAttention(4, 2, batchFirst: false, generator: new Generator(9));
        var s = ModuleGradCheck.Data([5, 2, 4], 62, dtype: DType.Float32);   // [L, B, E]
        var (o, w) = seqFirst.ForwardWithWeights(s, s, s, causal: true);
        Assert.That(o.Shape, Is.EqualTo(new[] { 5, 2, 4 }));
        Assert.That(w.Shape, Is.EqualTo(new[] { 2, 5, 5 }), "weights are [B, Lq, Lk] whatever the input layout, as PyTorch");
        var ws = w.ToDoubleArray();
        for (int row = 0; row < 10; row++)
        {
            int i = row % 5;
            Assert.That(ws.Skip(row * 5).Take(5).Sum(), Is.EqualTo(1).Within(1e-5), "each row is a distribution");
            Assert.That(ws.Skip(row * 5 + i + 1).Take(4 - i), Is.All.EqualTo(0.0), "causal: no weight on future keys");
        }
    }

    [Test]
    public void GradientsWithKdimVdimAndWeights()
    {
        using var scope = new TensorScope();
        using var mha = Layer(4, 2, 3, 5, DType.Float64);
        var q = ModuleGradCheck.Data([2, 3, 4], 71, requiresGrad: true);
        var k = ModuleGradCheck.Data([2, 4, 3], 72, requiresGrad: true);
        var v = ModuleGradCheck.Data([2, 4, 5], 73, requiresGrad: true);
        ModuleGradCheck.AssertGradients(mha, xs =>
        {
            var (output, weights) = mha.ForwardWithWeights(xs[0], xs[1], xs[2], averageAttnWeights: false);
            return Joining.Concat([output.Reshape(-1), weights.Reshape(-1)], 0);
        }, [q, k, v]);
    }

    [Test]
    public void KdimVdimShapesAreChecked()
    {
        using var scope = new TensorScope();
        using var mha = new MultiHeadAttention(8, 2, kdim: 5, vdim: 3);
        var q = Tensor.Zeros([2, 4, 8]);
        Ref.Throws<ArgumentException>(() => mha.Forward(q, Tensor.Zeros([2, 6, 8]), Tensor.Zeros([2, 6, 3])), "MultiHeadAttention", "key [B, Lk, 5]", "key [2, 6, 8]");
        Ref.Throws<ArgumentException>(() => mha.Forward(q), "MultiHeadAttention", "value [B, Lk, 3]");
        Ref.Throws<ArgumentException>(() => new MultiHeadAttention(8, 2, kdim: 0), "MultiHeadAttention", "kdim");
    }
}
