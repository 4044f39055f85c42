using Tensorium.Layers;

namespace Tensorium.Tests.Layers;

/// <summary>
/// MultiHeadAttention against an explicit per-head softmax(Q Kᵀ / sqrt(d) + mask) V built from
/// plain tensor ops with the layer's own weights (the mask comes from host arrays), plus
/// positional encodings against their formulas.
/// </summary>
public class AttentionLayerTests
{
    /// <summary>A layer with random (non-zero) biases so every parameter shows in the output.</summary>
    private static MultiHeadAttention Layer(int e, int h, double dropout = 0, bool batchFirst = true, DType dtype = DType.Float32)
    {
        var mha = new MultiHeadAttention(e, h, dropout, batchFirst: batchFirst, generator: new Generator(5));
        if (dtype != DType.Float32) mha.To(dtype);
        ModuleGradCheck.Set(mha.InProjBias!, Reference.Values(3 * e, 31).Select(v => v * 0.5).ToArray());
        ModuleGradCheck.Set(mha.OutProj.Bias!, Reference.Values(e, 32).Select(v => v * 0.5).ToArray());
        return mha;
    }

    /// <summary>
    /// The host-side mask [B, H, Lq, Lk]: -inf for future keys (causal) and padded keys, plus an
    /// optional additive term per (b, h, i, j).
    /// </summary>
    private static double[] HostMask(int b, int h, int lq, int lk, bool causal, bool[,]? padded, Func<int, int, int, int, double>? extra)
    {
        var m = new double[b * h * lq * lk];
        for (int n = 0; n < b; n++)
            for (int hh = 0; hh < h; hh++)
                for (int i = 0; i < lq; i++)
                    for (int j = 0; j < lk; j++)
                    {
                        double v = extra?.Invoke(n, hh, i, j) ?? 0;
                        if ((causal && j > i) || (padded != null && padded[n, j])) v = double.NegativeInfinity;
                        m[((n * h + hh) * lq + i) * lk + j] = v;
                    }
        return m;
    }

    /// <summary>The explicit reference: per batch element and head, softmax(Q_h K_hᵀ / sqrt(d) + mask) V_h, heads concatenated, then out_proj.</summary>
    private static Tensor Expected(MultiHeadAttention mha, Tensor query, Tensor key, Tensor value, double[] mask)
    {
        int e = mha.EmbedDim, heads = mha.NumHeads, d = e / heads;
        int b = query.Size(0), lq = query.Size(1), lk = key.Size(1);
        Tensor Project(Tensor x, int which)
        {
            var w = mha.InProjWeight!.Detach().Narrow(0, which * e, e);
            var bias = mha.InProjBias!.Detach().Narrow(0, which * e, e);
            return x.MatMul(w.T) + bias;
        }
        var q = Project(query, 0);
        var k = Project(key, 1);
        var v = Project(value, 2);
        var batches = new List<Tensor>();
        for (int n = 0; n < b; n++)
        {
            var perHead = new List<Tensor>();
            for (int hh = 0; hh < heads; hh++)
            {
                var qh = q.Narrow(0, n, 1).Squeeze(0).Narrow(1, hh * d, d);   // [Lq, d]
                var kh = k.Narrow(0, n, 1).Squeeze(0).Narrow(1, hh * d, d);   // [Lk, d]
                var vh = v.Narrow(0, n, 1).Squeeze(0).Narrow(1, hh * d, d);
                var maskNh = mask.Skip((n * heads + hh) * lq * lk).Take(lq * lk).ToArray();
                var m = query.DType == DType.Float64 ? Tensor.FromSpan<double>(maskNh, [lq, lk])
                    : Tensor.FromSpan<float>(maskNh.Select(x => (float)x).ToArray(), [lq, lk]);
                var scores = qh.MatMul(kh.T) / Math.Sqrt(d) + m;
                perHead.Add(scores.Softmax(-1).MatMul(vh));
            }
            batches.Add(Joining.Concat(perHead, 1));
        }
        var joined = Joining.Stack(batches, 0);
        return joined.MatMul(mha.OutProj.Weight.Detach().T) + mha.OutProj.Bias!.Detach();
    }

    private static Tensor Data(int[] shape, int seed, DType dtype = DType.Float32) => ModuleGradCheck.Data(shape, seed, dtype: dtype);

    [Test]
    public void SelfAttentionMatchesExplicitReference()
    {
        using var scope = new TensorScope();
        using var mha = Layer(8, 2);
        var x = Data([2, 5, 8], 41);
        var y = mha.Forward(x);
        Assert.That(y.Shape, Is.EqualTo(new[] { 2, 5, 8 }));
        Reference.AssertClose(y.ToDoubleArray(), Expected(mha, x, x, x, HostMask(2, 2, 5, 5, false, null, null)).ToDoubleArray(), 1e-5, 1e-4, "self attention");
    }

    [Test]
    public void CausalSelfAttentionMatchesReference()
    {
        using var scope = new TensorScope();
        using var mha = Layer(8, 4);
        var x = Data([2, 6, 8], 42);
        var y = mha.Forward(x, x, x, causal: true);
        Reference.AssertClose(y.ToDoubleArray(), Expected(mha, x, x, x, HostMask(2, 4, 6, 6, true, null, null)).ToDoubleArray(), 1e-5, 1e-4, "causal");
        // The same through an explicit mask: the helper's additive causal mask, and an integer "hide" mask.
        var additive = AttentionMasks.Causal(6, 6);
        Reference.AssertClose(mha.Forward(x, x, x, attnMask: additive).ToDoubleArray(), y.ToDoubleArray(), 1e-6, 1e-5, "additive causal mask");
        var hide = Tensor.FromArray(Enumerable.Range(0, 36).Select(i => i % 6 > i / 6 ? 1L : 0L).ToArray(), 6, 6);
        Reference.AssertClose(mha.Forward(x, x, x, attnMask: hide).ToDoubleArray(), y.ToDoubleArray(), 1e-6, 1e-5, "boolean causal mask");
    }

    [Test]
    public void CrossAttentionWithKeyPaddingMatchesReference()
    {
        using var scope = new TensorScope();
        using var mha = Layer(6, 3);
        var q = Data([2, 3, 6], 43);
        var kv = Data([2, 7, 6], 44);
        var v = Data([2, 7, 6], 45);
        bool[,] padded = { { false, false, false, false, false, true, true }, { false, false, true, false, false, false, true } };
        var kpm = Tensor.FromArray(Enumerable.Range(0, 14).Select(i => padded[i / 7, i % 7] ? 1L : 0L).ToArray(), 2, 7);
        var y = mha.Forward(q, kv, v, keyPaddingMask: kpm);
        Assert.That(y.Shape, Is.EqualTo(new[] { 2, 3, 6 }));
        Reference.AssertClose(y.ToDoubleArray(), Expected(mha, q, kv, v, HostMask(2, 3, 3, 7, false, padded, null)).ToDoubleArray(), 1e-5, 1e-4, "cross + padding");

        // Padded keys really are invisible: changing their keys and values changes nothing.
        Tensor Perturbed(Tensor t)
        {
            var changed = t.ToDoubleArray();
            for (int j = 0; j < 6; j++) { changed[5 * 6 + j] += 3; changed[(7 + 2) * 6 + j] -= 2; }
            var copy = Tensor.Zeros([2, 7, 6]);
            ModuleGradCheck.Set(copy, changed);
            return copy;
        }
        var moved = mha.Forward(q, Perturbed(kv), Perturbed(v), keyPaddingMask: kpm);
        Reference.AssertClose(moved.ToDoubleArray(), y.ToDoubleArray(), 1e-6, 1e-5, "padded keys ignored");
    }

    [Test]
    public void AdditiveAndPerHeadMasksCombineWithCausalAndPadding()
    {
        using var scope = new TensorScope();
        using var mha = Layer(8, 2);
        var x = Data([2, 4, 8], 46);
        Func<int, int, int, int, double> extra = (n, h, i, j) => 0.3 * Math.Sin(1 + n + 2 * h + 3 * i + 5 * j);
        var perHead = HostMask(2, 2, 4, 4, false, null, extra);
        var mask3d = Tensor.FromSpan<float>(perHead.Select(v => (float)v).ToArray(), [4, 4, 4]);   // [B*H, Lq, Lk]
        bool[,] padded = { { false, false, false, true }, { false, false, false, false } };
        var kpm = Tensor.FromArray(new long[] { 0, 0, 0, 1, 0, 0, 0, 0 }, 2, 4);
        var y = mha.Forward(x, x, x, attnMask: mask3d, keyPaddingMask: kpm, causal: true);
        Reference.AssertClose(y.ToDoubleArray(), Expected(mha, x, x, x, HostMask(2, 2, 4, 4, true, padded, extra)).ToDoubleArray(), 1e-5, 1e-4, "combined");

        Func<int, int, int, int, double> shared = (_, _, i, j) => 0.5 * Math.Cos(i - 2 * j);
        var mask2d = Tensor.FromSpan<float>(HostMask(1, 1, 4, 4, false, null, shared).Select(v => (float)v).ToArray(), [4, 4]);
        Reference.AssertClose(mha.Forward(x, x, x, attnMask: mask2d).ToDoubleArray(),
            Expected(mha, x, x, x, HostMask(2, 2, 4, 4, false, null, shared)).ToDoubleArray(), 1e-5, 1e-4, "[Lq, Lk] additive");
    }

    [Test]
    public void SequenceFirstAndUnbatchedLayoutsAgreeWithBatchFirst()
    {
        using var scope = new TensorScope();
        using var first = Layer(4, 2);
        using var second = Layer(4, 2, batchFirst: false);
        second.LoadStateDict(first.StateDict());
        var x = Data([3, 5, 4], 47);
        var y = first.Forward(x, x, x, causal: true);
        var xt = x.Transpose(0, 1);
        Reference.AssertClose(second.Forward(xt, xt, xt, causal: true).Transpose(0, 1).ToDoubleArray(), y.ToDoubleArray(), 1e-6, 1e-5, "[L, B, E]");
        var one = x.Narrow(0, 1, 1).Squeeze(0);
        var unbatched = first.Forward(one, one, one, causal: true);
        Assert.That(unbatched.Shape, Is.EqualTo(new[] { 5, 4 }));
        Reference.AssertClose(unbatched.ToDoubleArray(), y.Narrow(0, 1, 1).ToDoubleArray(), 1e-6, 1e-5, "unbatched");
    }

    [Test]
    public void DropoutOnlyActsInTrainingAndItsExplicitPathIsCorrect()
    {
        using var scope = new TensorScope();
        var x = Data([2, 5, 8], 48);
        bool[,] padded = { { false, false, false, false, true }, { false, false, false, false, false } };
        var kpm = Tensor.FromArray(new long[] { 0, 0, 0, 0, 1, 0, 0, 0, 0, 0 }, 2, 5);
        var expected = HostMask(2, 2, 5, 5, true, padded, null);

        // p = 1e-9 keeps (practically) everything but takes the explicit-scores path in training.
        using var tiny = Layer(8, 2, dropout: 1e-9);
        var explicitPath = tiny.Forward(x, x, x, keyPaddingMask: kpm, causal: true);
        Reference.AssertClose(explicitPath.ToDoubleArray(), Expected(tiny, x, x, x, expected).ToDoubleArray(), 1e-5, 1e-4, "explicit path");

        using var mha = Layer(8, 2, dropout: 0.5);
        var train = mha.Forward(x, x, x, keyPaddingMask: kpm, causal: true).ToDoubleArray();
        mha.Eval();
        var eval = mha.Forward(x, x, x, keyPaddingMask: kpm, causal: true).ToDoubleArray();
        Reference.AssertClose(eval, Expected(mha, x, x, x, expected).ToDoubleArray(), 1e-5, 1e-4, "eval has no dropout");
        Assert.That(train.Zip(eval).Max(p => Math.Abs(p.First - p.Second)), Is.GreaterThan(1e-3), "training drops");
        Assert.That(train.All(double.IsFinite));
    }

    [Test]
    public void GradientsOfTheWholeLayer()
    {
        using var scope = new TensorScope();
        using var mha = Layer(4, 2, dtype: DType.Float64);
        var q = ModuleGradCheck.Data([2, 3, 4], 49, requiresGrad: true);
        var kv = ModuleGradCheck.Data([2, 4, 4], 50, requiresGrad: true);
        var kpm = Tensor.FromArray(new long[] { 0, 0, 0, 1, 0, 1, 0, 0 }, 2, 4);
        ModuleGradCheck.AssertGradients(mha, xs => mha.Forward(xs[0], xs[1], xs[1], keyPaddingMask: kpm, causal: true), [q, kv]);
    }

    [Test]
    public void ParameterNamesAndInitialisationFollowPyTorch()
    {
        using var mha = new MultiHeadAttention(16, 4);
        Assert.That(mha.NamedParameters().Select(p => p.Name), Is.EqualTo(new[] { "in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias" }));
        Assert.That(mha.InProjWeight!.Shape, Is.EqualTo(new[] { 48, 16 }));
        Assert.That(mha.InProjBias!.ToDoubleArray(), Is.All.EqualTo(0.0));
        Assert.That(mha.OutProj.Bias!.ToDoubleArray(), Is.All.EqualTo(0.0));
        double bound = Math.Sqrt(6.0 / (16 + 48));   // xavier_uniform_ on [3E, E]
        var w = mha.InProjWeight!.ToDoubleArray();
        Assert.That(w.Max(Math.Abs), Is.LessThanOrEqualTo(bound).And.GreaterThan(0.8 * bound));
        Assert.That(new MultiHeadAttention(4, 2, bias: false).NamedParameters().Select(p => p.Name), Is.EqualTo(new[] { "in_proj_weight", "out_proj.weight" }));
    }

    [Test]
    public void RejectsBadShapesAndMasks()
    {
        using var scope = new TensorScope();
        var ex = Assert.Throws<ArgumentException>(() => new MultiHeadAttention(10, 3));
        Assert.That(ex!.Message, Does.Contain("MultiHeadAttention").And.Contain("numHeads 3"));
        using var mha = new MultiHeadAttention(8, 2);
        var x = Tensor.Zeros([2, 5, 8]);
        ex = Assert.Throws<ArgumentException>(() => mha.Forward(Tensor.Zeros([2, 5, 6])));
        Assert.That(ex!.Message, Does.Contain("[2, 5, 6]"));
        ex = Assert.Throws<ArgumentException>(() => mha.Forward(x, Tensor.Zeros([3, 4, 8]), Tensor.Zeros([3, 4, 8])));
        Assert.That(ex!.Message, Does.Contain("key [3, 4, 8]"));
        ex = Assert.Throws<ArgumentException>(() => mha.Forward(x, x, x, keyPaddingMask: Tensor.Zeros([2, 4], DType.Int64)));
        Assert.That(ex!.Message, Does.Contain("keyPaddingMask").And.Contain("[2, 5]").And.Contain("[2, 4]"));
        ex = Assert.Throws<ArgumentException>(() => mha.Forward(x, x, x, attnMask: Tensor.Zeros([5, 4])));
        Assert.That(ex!.Message, Does.Contain("attnMask [5, 4]"));
    }

    [Test]
    public void SinusoidalEncodingMatchesFormula()
    {
        using var scope = new TensorScope();
        foreach (int dim in new[] { 6, 7 })
        {
            using var pe = new SinusoidalPositionalEncoding(dim, maxLen: 100);
            Assert.That(pe.Pe.Shape, Is.EqualTo(new[] { 100, dim }));
            Assert.That(pe.NamedBuffers().Single().Name, Is.EqualTo("pe"));
            Assert.That(pe.Parameters(), Is.Empty);
            var table = pe.Pe.ToDoubleArray();
            var expected = new double[100 * dim];
            for (int pos = 0; pos < 100; pos++)
                for (int i = 0; i < dim; i++)
                {
                    double angle = pos / Math.Pow(10000, 2 * (i / 2) / (double)dim);
                    expected[pos * dim + i] = i % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle);
                }
            Reference.AssertClose(table, expected, 1e-6, 0, $"pe dim {dim}");
            var x = Data([2, 9, dim], 51);
            var y = pe.Forward(x).ToDoubleArray();
            var xs = x.ToDoubleArray();
            Reference.AssertClose(y, xs.Select((v, k) => v + expected[k % (9 * dim)]).ToArray(), 1e-6, 1e-5, "added");
        }
        var ex = Assert.Throws<ArgumentException>(() => new SinusoidalPositionalEncoding(4, 8).Forward(Tensor.Zeros([1, 9, 4])));
        Assert.That(ex!.Message, Does.Contain("SinusoidalPositionalEncoding").And.Contain("L <= 8").And.Contain("[1, 9, 4]"));
    }

    [Test]
    public void LearnedEncodingAddsTrainedRowsAndOnlyUsedRowsGetGradients()
    {
        using var scope = new TensorScope();
        using var pe = new LearnedPositionalEncoding(6, 3, dtype: DType.Float64);
        var table = pe.Weight.ToDoubleArray();
        var x = ModuleGradCheck.Data([2, 4, 3], 52, requiresGrad: true);
        var y = pe.Forward(x);
        Reference.AssertClose(y.ToDoubleArray(), x.ToDoubleArray().Select((v, k) => v + table[k % 12]).ToArray(), 1e-12, 0, "added");
        y.Sum().Backward();
        Assert.That(pe.Weight.Grad!.ToDoubleArray(), Is.EqualTo(Enumerable.Range(0, 18).Select(k => k < 12 ? 2.0 : 0.0).ToArray()));
        pe.ZeroGrad();
        ModuleGradCheck.AssertGradients(pe, xs => pe.Forward(xs[0]), [x]);
        var ex = Assert.Throws<ArgumentException>(() => pe.Forward(Tensor.Zeros([2, 4, 5], DType.Float64)));
        Assert.That(ex!.Message, Does.Contain("LearnedPositionalEncoding").And.Contain("[2, 4, 5]"));
    }
}
