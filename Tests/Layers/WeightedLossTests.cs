using Tensorium.Layers;

namespace Tensorium.Tests.Layers;

/// <summary>
/// PyTorch's loss options: class weights for cross-entropy and NLL, probability targets, and
/// pos_weight for binary cross-entropy with logits, against scalar formulas (PyTorch's
/// definitions) on awkward shapes, with float64 gradient checks.
/// </summary>
public class WeightedLossTests
{
    private static double[] LogSoftmaxRow(double[] x, int row, int classes)
    {
        var r = x.Skip(row * classes).Take(classes).ToArray();
        double max = r.Max(), lse = max + Math.Log(r.Sum(v => Math.Exp(v - max)));
        return r.Select(v => v - lse).ToArray();
    }

    /// <summary>
    /// PyTorch's weighted cross-entropy with labels: per row (1 - ε) w[y] (-log p[y]) + ε/C Σ_c w_c (-log p_c),
    /// 0 when ignored; the mean divides both parts by Σ w[y] over the rows that count.
    /// </summary>
    private static (double[] PerRow, double Total) WeightedReference(double[] logits, long[] labels, double[] w, double smoothing, int ignoreIndex = -100)
    {
        int classes = w.Length;
        double total = 0;
        var perRow = labels.Select((label, i) =>
        {
            if (label == ignoreIndex) return 0.0;
            var lp = LogSoftmaxRow(logits, i, classes);
            total += w[label];
            return (1 - smoothing) * w[label] * -lp[label] + smoothing / classes * lp.Select((v, c) => -w[c] * v).Sum();
        }).ToArray();
        return (perRow, total);
    }

    private static long[] Labels(int count, int classes, int seed) =>
        Reference.Values(count, seed).Select((v, i) => i % 5 == 3 ? -100L : (long)Math.Floor((v + 1) / 2 * classes)).ToArray();

    [TestCase(0.0)]
    [TestCase(0.3)]
    public void WeightedCrossEntropyMatchesPyTorchsFormula(double smoothing)
    {
        using var scope = new TensorScope();
        const int rows = 37, classes = 7;
        var x = ModuleGradCheck.Data([rows, classes], seed: 1, scale: 3);
        var labels = Labels(rows, classes, 2);
        var y = Tensor.FromArray(labels);
        var w = Reference.Values(classes, 3).Select(v => v + 1.2).ToArray();
        var weight = Tensor.FromArray(w);
        var (perRow, total) = WeightedReference(x.ToDoubleArray(), labels, w, smoothing);

        Reference.AssertClose(x.CrossEntropy(y, weight, Reduction.None, labelSmoothing: smoothing).ToDoubleArray(), perRow, 1e-12, 1e-10, "none");
        Assert.That(x.CrossEntropy(y, weight, Reduction.Sum, labelSmoothing: smoothing).Item(), Is.EqualTo(perRow.Sum()).Within(1e-10), "sum");
        Assert.That(x.CrossEntropy(y, weight, labelSmoothing: smoothing).Item(), Is.EqualTo(perRow.Sum() / total).Within(1e-10), "mean over the weights of the labels that count");
        Assert.That(new CrossEntropyLoss(labelSmoothing: smoothing, weight: weight).Compute(x, y).Item(), Is.EqualTo(perRow.Sum() / total).Within(1e-10), "loss object");
    }

    [Test]
    public void UnitWeightsGiveTheFusedCrossEntropy()
    {
        using var scope = new TensorScope();
        var x = ModuleGradCheck.Data([3, 4, 5], seed: 4);
        var y = Tensor.FromArray(Labels(12, 5, 5), 3, 4);
        var ones = Tensor.Ones([5], DType.Float64);
        Assert.That(x.CrossEntropy(y, ones, labelSmoothing: 0.2).Item(), Is.EqualTo(x.CrossEntropy(y, labelSmoothing: 0.2).Item()).Within(1e-12));
    }

    [TestCase(Reduction.Mean, 0.0)]
    [TestCase(Reduction.None, 0.25)]
    [TestCase(Reduction.Sum, 0.1)]
    public void WeightedCrossEntropyGradients(Reduction reduction, double smoothing)
    {
        using var scope = new TensorScope();
        var y = Tensor.FromArray(new long[] { 0, 2, -100, 3, 1, 0 }, 2, 3);
        var weight = Tensor.FromArray(new[] { 0.5, 2.0, 1.5, 0.25 });
        Reference.AssertGradients(t => t[0].CrossEntropy(y, weight, reduction, labelSmoothing: smoothing), Reference.Leaf([2, 3, 4], 6));
    }

    [Test]
    public void WeightedNllLossMatchesFormulaAndGradcheck()
    {
        using var scope = new TensorScope();
        const int rows = 23, classes = 6;
        var logProbabilities = ModuleGradCheck.Data([rows, classes], seed: 7, scale: 2, offset: -3);
        var labels = Labels(rows, classes, 8);
        var w = Reference.Values(classes, 9).Select(v => v + 1.5).ToArray();
        var weight = Tensor.FromArray(w);
        var lp = logProbabilities.ToDoubleArray();
        var perRow = labels.Select((l, i) => l == -100 ? 0 : -w[l] * lp[i * classes + l]).ToArray();
        double total = labels.Where(l => l != -100).Sum(l => w[l]);
        var y = Tensor.FromArray(labels);
        Reference.AssertClose(logProbabilities.NllLoss(y, Reduction.None, weight: weight).ToDoubleArray(), perRow, 1e-12, 1e-12, "none");
        Assert.That(new NllLoss(weight: weight).Compute(logProbabilities, y).Item(), Is.EqualTo(perRow.Sum() / total).Within(1e-12), "mean");
        Reference.AssertGradients(t => t[0].NllLoss(y, weight: weight), Reference.Leaf([rows, classes], 10));
    }

    [TestCase(0.0)]
    [TestCase(0.2)]
    public void ProbabilityTargetsMatchFormula(double smoothing)
    {
        using var scope = new TensorScope();
        const int classes = 5;
        int[] shape = [3, 7, classes];
        var x = ModuleGradCheck.Data(shape, seed: 11, scale: 2);
        // Each row of the targets sums to 1.
        var raw = Reference.Values(21 * classes, 12).Select(v => v + 1.1).ToArray();
        var t = Enumerable.Range(0, raw.Length).Select(i => raw[i] / raw.Skip(i / classes * classes).Take(classes).Sum()).ToArray();
        var target = Tensor.FromSpan<double>(t, shape);
        var w = Reference.Values(classes, 13).Select(v => v + 1).ToArray();
        var xs = x.ToDoubleArray();
        double[] PerRow(double[]? weights) => Enumerable.Range(0, 21).Select(r =>
        {
            var lp = LogSoftmaxRow(xs, r, classes);
            return -Enumerable.Range(0, classes).Sum(c => (weights?[c] ?? 1) * ((1 - smoothing) * t[r * classes + c] + smoothing / classes) * lp[c]);
        }).ToArray();

        var plain = PerRow(null);
        Reference.AssertClose(x.CrossEntropy(target, Reduction.None, labelSmoothing: smoothing).ToDoubleArray(), plain, 1e-12, 1e-10, "none");
        Assert.That(x.CrossEntropy(target, labelSmoothing: smoothing).Item(), Is.EqualTo(plain.Average()).Within(1e-12), "mean over rows");
        var weighted = PerRow(w);
        using var weight = Tensor.FromArray(w);
        Assert.That(x.CrossEntropy(target, weight, Reduction.Sum, labelSmoothing: smoothing).Item(), Is.EqualTo(weighted.Sum()).Within(1e-10), "weighted sum");
        Assert.That(x.CrossEntropy(target, weight, labelSmoothing: smoothing).Item(), Is.EqualTo(weighted.Sum() / 21).Within(1e-12), "weighted mean divides by the row count");
    }

    [Test]
    public void ProbabilityTargetsGradcheckForLogitsAndTargets()
    {
        using var scope = new TensorScope();
        var weight = Tensor.FromArray(new[] { 0.5, 2.0, 1.5 });
        Reference.AssertGradients(t => t[0].CrossEntropy(t[1], weight, labelSmoothing: 0.1), Reference.Leaf([4, 3], 14), Reference.Leaf([4, 3], 15));
    }

    [Test]
    public void OneHotProbabilitiesEqualLabels()
    {
        using var scope = new TensorScope();
        var x = ModuleGradCheck.Data([9, 4], seed: 16);
        var labels = Tensor.FromArray(new long[] { 0, 3, 1, 2, 2, 0, 1, 3, 3 });
        var oneHot = labels.OneHot(4, DType.Float64);
        Assert.That(x.CrossEntropy(oneHot, labelSmoothing: 0.2).Item(), Is.EqualTo(x.CrossEntropy(labels, labelSmoothing: 0.2).Item()).Within(1e-12));
    }

    [Test]
    public void BadWeightsAndTargetsAreRejected()
    {
        using var scope = new TensorScope();
        var x = Tensor.Zeros([4, 3], DType.Float64);
        var y = Tensor.FromArray(new long[] { 0, 1, 2, 0 });
        Ref.Throws<ArgumentException>(() => x.CrossEntropy(y, Tensor.Ones([4], DType.Float64)), "cross_entropy", "[3]", "[4]");
        Ref.Throws<ArgumentException>(() => x.NllLoss(y, weight: Tensor.Ones([3])), "nll_loss", "float64", "float32");
        Ref.Throws<ArgumentException>(() => x.CrossEntropy(Tensor.Zeros([4, 2], DType.Float64)), "cross_entropy", "probability targets", "[4, 3]", "[4, 2]");
        Ref.Throws<ArgumentException>(() => x.BinaryCrossEntropyWithLogits(x, posWeight: Tensor.Ones([4], DType.Float64)), "binary_cross_entropy_with_logits", "pos_weight", "[4]", "[4, 3]");
    }

    [Test]
    public void PosWeightMatchesTheNaiveFormula()
    {
        using var scope = new TensorScope();
        int[] shape = [5, 7, 3];
        var x = ModuleGradCheck.Data(shape, seed: 17, scale: 4);
        var t = ModuleGradCheck.Data(shape, seed: 18, scale: 0.5, offset: 0.5);
        double[] p = [0.5, 3, 1.75];
        var posWeight = Tensor.FromArray(p);
        var xs = x.ToDoubleArray();
        var ts = t.ToDoubleArray();
        // -[p t log σ(x) + (1 - t) log(1 - σ(x))], with the class the last dimension.
        var expected = xs.Select((v, i) =>
        {
            double s = 1 / (1 + Math.Exp(-v));
            return -(p[i % 3] * ts[i] * Math.Log(s) + (1 - ts[i]) * Math.Log(1 - s));
        }).ToArray();
        Reference.AssertClose(x.BinaryCrossEntropyWithLogits(t, Reduction.None, posWeight).ToDoubleArray(), expected, 1e-12, 1e-9, "none");
        Assert.That(new BceWithLogitsLoss(posWeight: posWeight).Compute(x, t).Item(), Is.EqualTo(expected.Average()).Within(1e-10), "mean");
        using var ones = Tensor.Ones([3], DType.Float64);
        Reference.AssertClose(x.BinaryCrossEntropyWithLogits(t, Reduction.None, ones).ToDoubleArray(),
            x.BinaryCrossEntropyWithLogits(t, Reduction.None).ToDoubleArray(), 1e-12, 1e-12, "pos_weight 1 is the plain loss");
        var large = Tensor.FromArray(new[] { -800.0, 800.0, 0 });
        var half = Tensor.FromArray(new[] { 0.5, 0.5, 0.5 });
        Assert.That(large.BinaryCrossEntropyWithLogits(half, Reduction.None, posWeight).ToDoubleArray().All(double.IsFinite), "stable for large logits");
    }

    [TestCase(Reduction.Mean)]
    [TestCase(Reduction.None)]
    public void PosWeightGradcheckForLogitsTargetsAndWeights(Reduction reduction)
    {
        using var scope = new TensorScope();
        var target = Ref.Leaf([3, 2, 4], Device.Cpu, 20, u => u * 0.5 + 0.5);
        var posWeight = Ref.Leaf([4], Device.Cpu, 21, Ref.Positive);
        Reference.AssertGradients(t => t[0].BinaryCrossEntropyWithLogits(t[1], reduction, t[2]), Reference.Leaf([3, 2, 4], 19, scale: 3), target, posWeight);
    }
}
