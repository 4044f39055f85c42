using Tensorium.Layers;

namespace Tensorium.Tests.Layers;

/// <summary>BatchNorm1d/2d and LayerNorm against hand-written formulas, plus float64 gradient checks.</summary>
public class NormalizationTests
{
    private const double Eps = 1e-5;

    /// <summary>Per-channel (dimension 1) mean, biased and unbiased variance of a row-major [N, C, ...] array.</summary>
    private static (double[] Mean, double[] Biased, double[] Unbiased) ChannelStats(double[] x, int[] shape)
    {
        int c = shape[1], inner = shape.Skip(2).Aggregate(1, (a, b) => a * b);
        var groups = Enumerable.Range(0, c).Select(_ => new List<double>()).ToArray();
        for (int i = 0; i < x.Length; i++) groups[i / inner % c].Add(x[i]);
        var mean = groups.Select(g => g.Average()).ToArray();
        var ss = groups.Select((g, k) => g.Sum(v => (v - mean[k]) * (v - mean[k]))).ToArray();
        return (mean, ss.Select((s, k) => s / groups[k].Count).ToArray(), ss.Select((s, k) => s / (groups[k].Count - 1)).ToArray());
    }

    /// <summary>(x - mean[c]) / sqrt(var[c] + eps) * w[c] + b[c] elementwise.</summary>
    private static double[] Normalize(double[] x, int[] shape, double[] mean, double[] variance, double[] w, double[] b)
    {
        int c = shape[1], inner = shape.Skip(2).Aggregate(1, (a, b) => a * b);
        return x.Select((v, i) => { int k = i / inner % c; return (v - mean[k]) / Math.Sqrt(variance[k] + Eps) * w[k] + b[k]; }).ToArray();
    }

    private static double[] Values(Tensor t) => t.ToDoubleArray();

    [TestCase(new[] { 6, 3 })]
    [TestCase(new[] { 4, 3, 5 })]
    [TestCase(new[] { 3, 3, 4, 5 })]
    public void BatchNormTrainingUsesBatchStatisticsAndUpdatesRunningStats(int[] shape)
    {
        using var scope = new TensorScope();
        using BatchNorm bn = shape.Length == 4 ? new BatchNorm2d(3) : new BatchNorm1d(3);
        double[] w = [1.5, -0.5, 2], b = [0.1, 0.2, -0.3];
        ModuleGradCheck.Set(bn.Weight!, w);
        ModuleGradCheck.Set(bn.Bias!, b);

        var x1 = ModuleGradCheck.Data(shape, seed: 3, scale: 2, offset: 0.7, dtype: DType.Float32);
        var y = bn.Forward(x1);
        Assert.That(y.Shape, Is.EqualTo(shape));
        var xs1 = Values(x1);
        var (m1, biased1, unbiased1) = ChannelStats(xs1, shape);
        Reference.AssertClose(Values(y), Normalize(xs1, shape, m1, biased1, w, b), 1e-4, 1e-4, "train output");
        Reference.AssertClose(Values(bn.RunningMean!), m1.Select(m => 0.1 * m).ToArray(), 1e-6, 1e-5, "running_mean after 1");
        Reference.AssertClose(Values(bn.RunningVar!), unbiased1.Select(v => 0.9 + 0.1 * v).ToArray(), 1e-6, 1e-5, "running_var after 1");

        var x2 = ModuleGradCheck.Data(shape, seed: 4, scale: 0.5, offset: -1, dtype: DType.Float32);
        bn.Forward(x2);
        var (m2, _, unbiased2) = ChannelStats(Values(x2), shape);
        Reference.AssertClose(Values(bn.RunningMean!), m1.Select((m, k) => 0.9 * 0.1 * m + 0.1 * m2[k]).ToArray(), 1e-6, 1e-5, "running_mean after 2");
        Reference.AssertClose(Values(bn.RunningVar!), unbiased1.Select((v, k) => 0.9 * (0.9 + 0.1 * v) + 0.1 * unbiased2[k]).ToArray(), 1e-6, 1e-5, "running_var after 2");
        Assert.That(bn.NumBatchesTracked!.Item(), Is.EqualTo(2));
        Assert.That(bn.NumBatchesTracked!.DType, Is.EqualTo(DType.Int64));
    }

    [Test]
    public void BatchNormEvalUsesRunningStatsAndLeavesThemAlone()
    {
        using var scope = new TensorScope();
        using var bn = new BatchNorm2d(2);
        double[] rm = [0.5, -1], rv = [2, 0.25], w = [2, 3], b = [-1, 1];
        ModuleGradCheck.Set(bn.RunningMean!, rm);
        ModuleGradCheck.Set(bn.RunningVar!, rv);
        ModuleGradCheck.Set(bn.Weight!, w);
        ModuleGradCheck.Set(bn.Bias!, b);
        var x = ModuleGradCheck.Data([3, 2, 2, 3], seed: 5, dtype: DType.Float32);

        var train = Values(bn.Forward(x));
        ModuleGradCheck.Set(bn.RunningMean!, rm);   // undo the training update
        ModuleGradCheck.Set(bn.RunningVar!, rv);
        bn.Eval();
        var eval = Values(bn.Forward(x));
        Reference.AssertClose(eval, Normalize(Values(x), [3, 2, 2, 3], rm, rv, w, b), 1e-5, 1e-4, "eval output");
        Assert.That(train.Zip(eval).Max(p => Math.Abs(p.First - p.Second)), Is.GreaterThan(0.1), "train and eval must differ");
        Reference.AssertClose(Values(bn.RunningMean!), rm, 0, 0, "running_mean unchanged in eval");
        Reference.AssertClose(Values(bn.RunningVar!), rv, 0, 0, "running_var unchanged in eval");
        Assert.That(bn.NumBatchesTracked!.Item(), Is.EqualTo(1));
    }

    [Test]
    public void BatchNormWithoutMomentumKeepsACumulativeAverage()
    {
        using var scope = new TensorScope();
        using var bn = new BatchNorm1d(2, momentum: null);
        var x1 = ModuleGradCheck.Data([5, 2], seed: 6, dtype: DType.Float32);
        var x2 = ModuleGradCheck.Data([5, 2], seed: 7, offset: 3, dtype: DType.Float32);
        bn.Forward(x1);
        bn.Forward(x2);
        var (m1, _, v1) = ChannelStats(Values(x1), [5, 2]);
        var (m2, _, v2) = ChannelStats(Values(x2), [5, 2]);
        Reference.AssertClose(Values(bn.RunningMean!), m1.Select((m, k) => (m + m2[k]) / 2).ToArray(), 1e-6, 1e-5, "running_mean");
        Reference.AssertClose(Values(bn.RunningVar!), v1.Select((v, k) => (v + v2[k]) / 2).ToArray(), 1e-6, 1e-5, "running_var");
    }

    [Test]
    public void BatchNormWithoutRunningStatsUsesBatchStatisticsInEval()
    {
        using var scope = new TensorScope();
        using var bn = new BatchNorm1d(3, trackRunningStats: false, affine: false);
        Assert.That(bn.NamedBuffers(), Is.Empty);
        Assert.That(bn.Parameters(), Is.Empty);
        bn.Eval();
        var x = ModuleGradCheck.Data([4, 3], seed: 8, dtype: DType.Float32);
        var (m, v, _) = ChannelStats(Values(x), [4, 3]);
        Reference.AssertClose(Values(bn.Forward(x)), Normalize(Values(x), [4, 3], m, v, [1, 1, 1], [0, 0, 0]), 1e-4, 1e-4, "output");
    }

    /// <summary>
    /// Without running statistics the batch's own statistics are used in evaluation too, so a
    /// single value per channel has no variance to normalise by. PyTorch 1.13 refuses it there as
    /// in training (BatchNorm1d(3, track_running_stats=False).eval()(torch.ones(1, 3)) raises
    /// "Expected more than 1 value per channel when training"); this layer returned the bias.
    /// With running statistics a single sample is fine in evaluation.
    /// </summary>
    [Test]
    public void BatchNormWithoutRunningStatsRefusesOneValuePerChannelInEvalToo()
    {
        using var scope = new TensorScope();
        using var bare = new BatchNorm1d(3, trackRunningStats: false);
        bare.Eval();
        Ref.Throws<ArgumentException>(() => bare.Forward(Tensor.Ones([1, 3])), "BatchNorm1d", "more than 1 value per channel", "[1, 3]");
        using var tracked = new BatchNorm1d(3);
        tracked.Eval();
        Assert.That(tracked.Forward(Tensor.Ones([1, 3])).Shape, Is.EqualTo(new[] { 1, 3 }));
    }

    [Test]
    public void BatchNormStateDictHasPyTorchNames()
    {
        using var bn = new BatchNorm2d(4);
        Assert.That(bn.NamedParameters().Select(p => p.Name), Is.EqualTo(new[] { "weight", "bias" }));
        Assert.That(bn.NamedBuffers().Select(p => p.Name), Is.EqualTo(new[] { "running_mean", "running_var", "num_batches_tracked" }));
        Assert.That(Values(bn.Weight!), Is.All.EqualTo(1.0));
        Assert.That(Values(bn.Bias!), Is.All.EqualTo(0.0));
        Assert.That(Values(bn.RunningVar!), Is.All.EqualTo(1.0));
    }

    [Test]
    public void BatchNorm2dTrainingGradientsThroughBatchStatistics()
    {
        using var scope = new TensorScope();
        using var bn = new BatchNorm2d(2);
        bn.To(DType.Float64);
        Assert.That(bn.NumBatchesTracked!.DType, Is.EqualTo(DType.Int64), "integer buffers keep their type");
        ModuleGradCheck.Set(bn.Weight!, [1.3, -0.7]);
        ModuleGradCheck.Set(bn.Bias!, [0.2, 0.4]);
        var x = ModuleGradCheck.Data([3, 2, 2, 2], seed: 9, requiresGrad: true);
        ModuleGradCheck.AssertGradients(bn, xs => bn.Forward(xs[0]), [x]);
    }

    [Test]
    public void BatchNorm1dGradientsInTrainingAndEval()
    {
        using var scope = new TensorScope();
        using var bn = new BatchNorm1d(3, dtype: DType.Float64);
        ModuleGradCheck.Set(bn.Weight!, [0.5, 1.5, -1]);
        var x = ModuleGradCheck.Data([4, 3, 2], seed: 10, requiresGrad: true);
        ModuleGradCheck.AssertGradients(bn, xs => bn.Forward(xs[0]), [x]);
        bn.Eval();
        ModuleGradCheck.AssertGradients(bn, xs => bn.Forward(xs[0]), [x]);
    }

    [Test]
    public void BatchNormRejectsBadInput()
    {
        using var scope = new TensorScope();
        using var bn1 = new BatchNorm1d(3);
        using var bn2 = new BatchNorm2d(3);
        var ex = Assert.Throws<ArgumentException>(() => bn1.Forward(Tensor.Zeros([4, 5])));
        Assert.That(ex!.Message, Does.Contain("BatchNorm1d").And.Contain("3 channels").And.Contain("[4, 5]"));
        ex = Assert.Throws<ArgumentException>(() => bn2.Forward(Tensor.Zeros([4, 3, 5])));
        Assert.That(ex!.Message, Does.Contain("BatchNorm2d").And.Contain("[N, 3, H, W]").And.Contain("[4, 3, 5]"));
        ex = Assert.Throws<ArgumentException>(() => bn1.Forward(Tensor.Zeros([1, 3])));
        Assert.That(ex!.Message, Does.Contain("more than 1 value per channel"));
        Assert.That(bn1.NumBatchesTracked!.Item(), Is.EqualTo(0), "a rejected batch changes nothing");
    }

    /// <summary>
    /// An input of another dtype or device than the layer's was caught only by the first
    /// arithmetic op ("add: dtypes differ"), after num_batches_tracked had been incremented: a
    /// rejected batch must name the layer and leave the running statistics alone.
    /// </summary>
    [Test, NonParallelizable]
    public void BatchNormRejectsInputOfAnotherDTypeOrDeviceAndChangesNothing()
    {
        using var scope = new TensorScope();
        using var bn = new BatchNorm1d(3);
        Ref.Throws<ArgumentException>(() => bn.Forward(Tensor.Ones([4, 3], DType.Float64)), "BatchNorm1d", "float64", "float32");
        Ref.Throws<ArgumentException>(() => bn.Forward(Tensor.Ones([4, 3], DType.Float32, Device.Emulated)), "BatchNorm1d", "emulated", "cpu");
        Assert.That(bn.NumBatchesTracked!.Item(), Is.EqualTo(0), "a rejected batch is not counted");
        Assert.That(bn.RunningMean!.ToDoubleArray(), Is.All.EqualTo(0));
        Assert.That(bn.RunningVar!.ToDoubleArray(), Is.All.EqualTo(1));
        bn.Eval();
        Ref.Throws<ArgumentException>(() => bn.Forward(Tensor.Ones([4, 3], DType.Float64)), "BatchNorm1d", "float64");

        // Without parameters or buffers there is nothing to disagree with: any floating input works.
        using var bare = new BatchNorm1d(3, affine: false, trackRunningStats: false);
        Assert.That(bare.Forward(Tensor.Ones([4, 3], DType.Float64)).DType, Is.EqualTo(DType.Float64));
    }

    [TestCase(new[] { 2, 3, 4 }, new[] { 4 })]
    [TestCase(new[] { 2, 3, 4 }, new[] { 3, 4 })]
    public void LayerNormMatchesFormula(int[] shape, int[] normalized)
    {
        using var scope = new TensorScope();
        using var ln = new LayerNorm(normalized);
        int group = normalized.Aggregate(1, (a, b) => a * b);
        var w = Reference.Values(group, 11).Select(v => v + 1).ToArray();
        var b = Reference.Values(group, 12);
        ModuleGradCheck.Set(ln.Weight!, w);
        ModuleGradCheck.Set(ln.Bias!, b);
        var x = ModuleGradCheck.Data(shape, seed: 13, scale: 3, offset: 1, dtype: DType.Float32);
        var xs = Values(x);
        var expected = new double[xs.Length];
        for (int start = 0; start < xs.Length; start += group)
        {
            var g = xs.Skip(start).Take(group).ToArray();
            double mean = g.Average(), variance = g.Sum(v => (v - mean) * (v - mean)) / group;
            for (int j = 0; j < group; j++) expected[start + j] = (g[j] - mean) / Math.Sqrt(variance + Eps) * w[j] + b[j];
        }
        var y = ln.Forward(x);
        Assert.That(y.Shape, Is.EqualTo(shape));
        Reference.AssertClose(Values(y), expected, 1e-4, 1e-4, "layer norm");
    }

    [Test]
    public void LayerNormGradients()
    {
        using var scope = new TensorScope();
        using var ln = new LayerNorm([2, 3], dtype: DType.Float64);
        ModuleGradCheck.Set(ln.Weight!, [1, 2, -1, 0.5, 1.5, 0.7]);
        ModuleGradCheck.Set(ln.Bias!, [0, 0.1, 0.2, 0.3, 0.4, 0.5]);
        var x = ModuleGradCheck.Data([2, 2, 3], seed: 14, requiresGrad: true);
        ModuleGradCheck.AssertGradients(ln, xs => ln.Forward(xs[0]), [x]);
    }

    [Test]
    public void LayerNormWithoutAffineHasNoParametersAndRejectsWrongShapes()
    {
        using var scope = new TensorScope();
        using var ln = new LayerNorm(4, elementwiseAffine: false);
        Assert.That(ln.Parameters(), Is.Empty);
        var y = ln.Forward(ModuleGradCheck.Data([3, 4], seed: 15, dtype: DType.Float32)).ToDoubleArray();
        for (int r = 0; r < 3; r++) Assert.That(y.Skip(4 * r).Take(4).Sum(), Is.EqualTo(0).Within(1e-5));
        var ex = Assert.Throws<ArgumentException>(() => ln.Forward(Tensor.Zeros([3, 5])));
        Assert.That(ex!.Message, Does.Contain("LayerNorm").And.Contain("[..., 4]").And.Contain("[3, 5]"));
    }
}
