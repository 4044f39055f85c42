using Tensorium.Layers;

namespace Tensorium.Tests.Layers;

/// <summary>GroupNorm, InstanceNorm1d/2d and RmsNorm against scalar formulas, plus float64 gradient checks.</summary>
public class GroupInstanceRmsNormTests
{
    private const double Eps = 1e-5;

    /// <summary>
    /// Normalises each (sample, group) block of a row-major [N, C, positions] array: a group is
    /// <paramref name="groups"/> consecutive channels; then w[c], b[c] per channel.
    /// </summary>
    private static double[] GroupReference(double[] x, int n, int c, int positions, int groups, double[] w, double[] b)
    {
        var y = new double[x.Length];
        int perGroup = c / groups * positions;
        for (int s = 0; s < n; s++)
            for (int g = 0; g < groups; g++)
            {
                int start = (s * c + g * (c / groups)) * positions;
                var block = x.Skip(start).Take(perGroup).ToArray();
                double mean = block.Average(), variance = block.Sum(v => (v - mean) * (v - mean)) / perGroup;
                for (int j = 0; j < perGroup; j++)
                {
                    int channel = g * (c / groups) + j / positions;
                    y[start + j] = (block[j] - mean) / Math.Sqrt(variance + Eps) * w[channel] + b[channel];
                }
            }
        return y;
    }

    [TestCase(new[] { 3, 6, 5, 7 }, 3)]
    [TestCase(new[] { 2, 4, 9 }, 4)]
    [TestCase(new[] { 5, 6 }, 1)]
    public void GroupNormMatchesFormula(int[] shape, int groups)
    {
        using var scope = new TensorScope();
        int c = shape[1], positions = shape.Skip(2).Aggregate(1, (a, d) => a * d);
        using var gn = new GroupNorm(groups, c);
        var w = Reference.Values(c, 21).Select(v => v + 1).ToArray();
        var b = Reference.Values(c, 22);
        ModuleGradCheck.Set(gn.Weight!, w);
        ModuleGradCheck.Set(gn.Bias!, b);
        var x = ModuleGradCheck.Data(shape, seed: 23, scale: 3, offset: 1, dtype: DType.Float32);
        var y = gn.Forward(x);
        Assert.That(y.Shape, Is.EqualTo(shape));
        Reference.AssertClose(y.ToDoubleArray(), GroupReference(x.ToDoubleArray(), shape[0], c, positions, groups, w, b), 1e-4, 1e-4, "group norm");
    }

    [Test]
    public void GroupNormGradientsOnANonContiguousInput()
    {
        using var scope = new TensorScope();
        using var gn = new GroupNorm(2, 4, dtype: DType.Float64);
        ModuleGradCheck.Set(gn.Weight!, [1.2, -0.6, 0.8, 2]);
        ModuleGradCheck.Set(gn.Bias!, [0.1, -0.2, 0.3, 0]);
        var x = ModuleGradCheck.Data([3, 2, 4], seed: 24, requiresGrad: true);
        ModuleGradCheck.AssertGradients(gn, xs => { using var t = xs[0].Transpose(1, 2); return gn.Forward(t); }, [x]);
    }

    [Test]
    public void GroupNormStateDictNamesAndBadArguments()
    {
        using var gn = new GroupNorm(2, 6);
        Assert.That(gn.NamedParameters().Select(p => p.Name), Is.EqualTo(new[] { "weight", "bias" }));
        Assert.That(new GroupNorm(3, 3, affine: false).Parameters(), Is.Empty);
        Ref.Throws<ArgumentException>(() => new GroupNorm(4, 6), "GroupNorm", "4 groups for 6 channels");
        using var scope = new TensorScope();
        Ref.Throws<ArgumentException>(() => gn.Forward(Tensor.Zeros([2, 4, 3])), "GroupNorm", "[N, 6, ...]", "[2, 4, 3]");
    }

    [TestCase(new[] { 2, 3, 7 })]
    [TestCase(new[] { 3, 2, 5, 3 })]
    public void InstanceNormMatchesFormulaAndTracksRunningStats(int[] shape)
    {
        using var scope = new TensorScope();
        int n = shape[0], c = shape[1], positions = shape.Skip(2).Aggregate(1, (a, d) => a * d);
        using InstanceNorm norm = shape.Length == 3
            ? new InstanceNorm1d(c, affine: true, trackRunningStats: true)
            : new InstanceNorm2d(c, affine: true, trackRunningStats: true);
        var w = Reference.Values(c, 31).Select(v => v + 1).ToArray();
        var b = Reference.Values(c, 32);
        ModuleGradCheck.Set(norm.Weight!, w);
        ModuleGradCheck.Set(norm.Bias!, b);
        var x = ModuleGradCheck.Data(shape, seed: 33, scale: 2, offset: 0.5, dtype: DType.Float32);
        var xs = x.ToDoubleArray();
        // Instance norm is group norm with one channel per group.
        Reference.AssertClose(norm.Forward(x).ToDoubleArray(), GroupReference(xs, n, c, positions, c, w, b), 1e-4, 1e-4, "train output");

        var runningMean = new double[c];
        var runningVar = new double[c];
        for (int k = 0; k < c; k++)
        {
            double meanSum = 0, varSum = 0;
            for (int s = 0; s < n; s++)
            {
                var block = xs.Skip((s * c + k) * positions).Take(positions).ToArray();
                double mean = block.Average();
                meanSum += mean;
                varSum += block.Sum(v => (v - mean) * (v - mean)) / (positions - 1);
            }
            runningMean[k] = 0.1 * meanSum / n;
            runningVar[k] = 0.9 + 0.1 * varSum / n;
        }
        Reference.AssertClose(norm.RunningMean!.ToDoubleArray(), runningMean, 1e-6, 1e-5, "running_mean");
        Reference.AssertClose(norm.RunningVar!.ToDoubleArray(), runningVar, 1e-6, 1e-5, "running_var");

        norm.Eval();
        var expected = xs.Select((v, i) => { int k = i / positions % c; return (v - runningMean[k]) / Math.Sqrt(runningVar[k] + Eps) * w[k] + b[k]; }).ToArray();
        Reference.AssertClose(norm.Forward(x).ToDoubleArray(), expected, 1e-4, 1e-4, "eval output");
        Reference.AssertClose(norm.RunningMean!.ToDoubleArray(), runningMean, 1e-6, 1e-5, "running_mean unchanged in eval");
    }

    [Test]
    public void InstanceNormDefaultsAndNamesFollowPyTorch()
    {
        using var plain = new InstanceNorm2d(3);
        Assert.That(plain.Parameters(), Is.Empty);
        Assert.That(plain.NamedBuffers(), Is.Empty);
        using var full = new InstanceNorm1d(3, affine: true, trackRunningStats: true);
        Assert.That(full.NamedParameters().Select(p => p.Name), Is.EqualTo(new[] { "weight", "bias" }));
        Assert.That(full.NamedBuffers().Select(p => p.Name), Is.EqualTo(new[] { "running_mean", "running_var", "num_batches_tracked" }));
        using var scope = new TensorScope();
        Ref.Throws<ArgumentException>(() => plain.Forward(Tensor.Zeros([2, 3, 4])), "InstanceNorm2d", "[N, C, H, W]", "[2, 3, 4]");
        Ref.Throws<ArgumentException>(() => full.Forward(Tensor.Zeros([2, 3, 1])), "InstanceNorm1d", "more than 1 position");
        Assert.That(full.RunningMean!.ToDoubleArray(), Is.All.EqualTo(0.0), "a rejected batch changes nothing");
    }

    [Test]
    public void InstanceNormGradients()
    {
        using var scope = new TensorScope();
        using var norm = new InstanceNorm2d(2, affine: true, dtype: DType.Float64);
        ModuleGradCheck.Set(norm.Weight!, [1.5, -0.5]);
        ModuleGradCheck.Set(norm.Bias!, [0.2, -0.1]);
        var x = ModuleGradCheck.Data([2, 2, 3, 2], seed: 34, requiresGrad: true);
        ModuleGradCheck.AssertGradients(norm, xs => norm.Forward(xs[0]), [x]);
    }

    [TestCase(new[] { 3, 5, 7 }, new[] { 7 }, 1e-6)]
    [TestCase(new[] { 4, 3, 5 }, new[] { 3, 5 }, null)]
    public void RmsNormMatchesFormula(int[] shape, int[] normalized, double? eps)
    {
        using var scope = new TensorScope();
        using var norm = new RmsNorm(normalized, eps);
        int group = normalized.Aggregate(1, (a, d) => a * d);
        var w = Reference.Values(group, 41).Select(v => v + 1).ToArray();
        ModuleGradCheck.Set(norm.Weight!, w);
        var x = ModuleGradCheck.Data(shape, seed: 42, scale: 2, offset: 0.3, dtype: DType.Float32);
        var xs = x.ToDoubleArray();
        double e = eps ?? 1.1920928955078125e-07;   // torch.finfo(torch.float32).eps
        var expected = new double[xs.Length];
        for (int start = 0; start < xs.Length; start += group)
        {
            double meanSquare = xs.Skip(start).Take(group).Sum(v => v * v) / group;
            for (int j = 0; j < group; j++) expected[start + j] = xs[start + j] / Math.Sqrt(meanSquare + e) * w[j];
        }
        Reference.AssertClose(norm.Forward(x).ToDoubleArray(), expected, 1e-5, 1e-4, "rms norm");
        Assert.That(norm.NamedParameters().Select(p => p.Name), Is.EqualTo(new[] { "weight" }));
    }

    [Test]
    public void RmsNormGradientsAndErrors()
    {
        using var scope = new TensorScope();
        using var norm = new RmsNorm(4, eps: 1e-3, dtype: DType.Float64);
        ModuleGradCheck.Set(norm.Weight!, [0.5, 1.5, -1, 2]);
        var x = ModuleGradCheck.Data([3, 4], seed: 43, requiresGrad: true);
        ModuleGradCheck.AssertGradients(norm, xs => norm.Forward(xs[0]), [x]);
        Assert.That(new RmsNorm(4, elementwiseAffine: false).Parameters(), Is.Empty);
        Ref.Throws<ArgumentException>(() => norm.Forward(Tensor.Zeros([3, 5], DType.Float64)), "RmsNorm", "[..., 4]", "[3, 5]");
    }

    /// <summary>
    /// An input of another dtype than the layer's weights or running statistics used to fail
    /// deep inside ("mul: dtypes differ", "add: dtypes differ"), naming neither the layer nor what
    /// it expected. Layers with nothing of their own (no affine, no running stats) take any float.
    /// </summary>
    [Test]
    public void InputOfAnotherDTypeThanTheLayerIsRefusedByName()
    {
        using var scope = new TensorScope();
        using var group = new GroupNorm(2, 4);
        using var instance = new InstanceNorm1d(3, affine: true);
        using var tracked = new InstanceNorm1d(3, trackRunningStats: true);
        using var rms = new RmsNorm(4);
        Ref.Throws<ArgumentException>(() => group.Forward(Tensor.Ones([2, 4, 3], DType.Float64)), "GroupNorm", "float64", "float32");
        Ref.Throws<ArgumentException>(() => instance.Forward(Tensor.Ones([2, 3, 5], DType.Float64)), "InstanceNorm1d", "float64", "float32");
        Ref.Throws<ArgumentException>(() => tracked.Forward(Tensor.Ones([2, 3, 5], DType.Float64)), "InstanceNorm1d", "float64", "float32");
        Ref.Throws<ArgumentException>(() => rms.Forward(Tensor.Ones([2, 4], DType.Float64)), "RmsNorm", "float64", "float32");
        Assert.That(tracked.RunningMean!.ToDoubleArray(), Is.All.EqualTo(0));

        using var bare = new InstanceNorm1d(3);
        Assert.That(bare.Forward(Tensor.Ones([2, 3, 5], DType.Float64)).DType, Is.EqualTo(DType.Float64));
        using var bareGroup = new GroupNorm(2, 4, affine: false);
        Assert.That(bareGroup.Forward(Tensor.Ones([2, 4, 3], DType.Float64)).DType, Is.EqualTo(DType.Float64));
    }
}
