using Tensorium.Layers;

namespace Tensorium.Tests.Layers;

/// <summary>
/// Cross-entropy, NLL, MSE, L1 and binary cross-entropy with logits against plain double
/// formulas (and a few literal values), every reduction, ignore-index and label smoothing, and
/// float64 gradient checks.
/// </summary>
public class LossTests
{
    private static readonly double[] Logits =
    [
        1, 2, 3,
        1, 0, -1,
        0.5, 0.5, 0.5,
        -2, 4, 0.25,
    ];
    private static readonly long[] Labels = [2, 0, 1, -100];   // the last one is ignored

    private static double[] LogSoftmaxRow(double[] x, int row, int classes)
    {
        var r = x.Skip(row * classes).Take(classes).ToArray();
        double max = r.Max(), lse = max + Math.Log(r.Sum(v => Math.Exp(v - max)));
        return r.Select(v => v - lse).ToArray();
    }

    /// <summary>PyTorch's cross-entropy per example: (1 - ε) nll + ε mean_c(-log p_c), 0 when ignored.</summary>
    private static double[] CrossEntropyReference(double[] logits, long[] labels, int classes, double smoothing, int ignoreIndex = -100) =>
        labels.Select((label, i) =>
        {
            if (label == ignoreIndex) return 0.0;
            var lp = LogSoftmaxRow(logits, i, classes);
            return (1 - smoothing) * -lp[label] + smoothing * lp.Sum(v => -v) / classes;
        }).ToArray();

    private static Tensor Make(double[] v, params int[] shape) => Tensor.FromArray(v, shape);

    private static Tensor Leaf(double[] v, params int[] shape)
    {
        var t = Tensor.FromArray(v, shape);
        t.RequiresGrad = true;
        return t;
    }

    // ---- Cross-entropy ------------------------------------------------------------------------

    [Test]
    public void CrossEntropyLiteralValues()
    {
        // [1, 2, 3] with label 2 and [1, 0, -1] with label 0 both lose log(1 + e^-1 + e^-2); a
        // uniform row loses log 3.
        using var x = Make(Logits, 4, 3);
        using var y = Tensor.FromArray(Labels);
        using var loss = x.CrossEntropy(y);
        double a = Math.Log(1 + Math.Exp(-1) + Math.Exp(-2));
        Assert.That(a, Is.EqualTo(0.40760596).Within(1e-8));
        Assert.That(loss.Item(), Is.EqualTo((2 * a + Math.Log(3)) / 3).Within(1e-12), "mean over the 3 labels that count");
    }

    [TestCase(0.0)]
    [TestCase(0.2)]
    public void CrossEntropyMatchesFormulaForEveryReduction(double smoothing)
    {
        using var x = Make(Logits, 4, 3);
        using var y = Tensor.FromArray(Labels);
        var perExample = CrossEntropyReference(Logits, Labels, 3, smoothing);
        using var none = x.CrossEntropy(y, Reduction.None, labelSmoothing: smoothing);
        using var sum = x.CrossEntropy(y, Reduction.Sum, labelSmoothing: smoothing);
        using var mean = x.CrossEntropy(y, Reduction.Mean, labelSmoothing: smoothing);
        Reference.AssertClose(none.ToDoubleArray(), perExample, 1e-12, 1e-12, "none");
        Assert.That(sum.Item(), Is.EqualTo(perExample.Sum()).Within(1e-12));
        Assert.That(mean.Item(), Is.EqualTo(perExample.Sum() / 3).Within(1e-12));
    }

    [Test]
    public void CrossEntropySmoothingLeavesAUniformRowAlone()
    {
        using var x = Make([0.5, 0.5, 0.5], 1, 3);
        using var y = Tensor.FromArray(new long[] { 1 });
        using var loss = x.CrossEntropy(y, labelSmoothing: 0.3);
        Assert.That(loss.Item(), Is.EqualTo(Math.Log(3)).Within(1e-12));
    }

    [Test]
    public void CrossEntropyCustomIgnoreIndexAndInt32Labels()
    {
        using var x = Make(Logits, 4, 3);
        using var y = Tensor.FromArray(new[] { 2, 0, 1, 1 });
        using var loss = x.CrossEntropy(y, ignoreIndex: 1);   // rows 2 and 3 ignored
        var reference = CrossEntropyReference(Logits, [2, 0, 1, 1], 3, 0, ignoreIndex: 1);
        Assert.That(loss.Item(), Is.EqualTo(reference.Sum() / 2).Within(1e-12));
    }

    [Test]
    public void CrossEntropyGradientIsSoftmaxMinusTargetOverCount()
    {
        using var x = Leaf(Logits, 4, 3);
        using var y = Tensor.FromArray(Labels);
        using (var loss = x.CrossEntropy(y, labelSmoothing: 0.1)) loss.Backward();
        var expected = new double[12];
        for (int r = 0; r < 4; r++)
        {
            if (Labels[r] == -100) continue;
            var p = LogSoftmaxRow(Logits, r, 3).Select(Math.Exp).ToArray();
            for (int c = 0; c < 3; c++)
                expected[r * 3 + c] = (p[c] - ((c == Labels[r] ? 0.9 : 0) + 0.1 / 3)) / 3;
        }
        Reference.AssertClose(x.Grad!.ToDoubleArray(), expected, 1e-12, 1e-10, "d loss / d logits");
    }

    [TestCase(Reduction.Mean)]
    [TestCase(Reduction.Sum)]
    [TestCase(Reduction.None)]
    public void CrossEntropyGradients(Reduction reduction)
    {
        using var y = Tensor.FromArray(new long[] { 0, 2, -100, 1, 1, 0 }, 2, 3);
        Reference.AssertGradients(t => t[0].CrossEntropy(y, reduction, labelSmoothing: 0.15), Reference.Leaf([2, 3, 4], 3));
    }

    [Test]
    public void CrossEntropyAllIgnoredIsNaNLikePyTorch()
    {
        using var x = Make([1, 2], 1, 2);
        using var y = Tensor.FromArray(new long[] { -100 });
        using var loss = x.CrossEntropy(y);
        Assert.That(double.IsNaN(loss.Item()));
    }

    // ---- NLL ------------------------------------------------------------------------------------

    [Test]
    public void NllLossPicksTheLabelledLogProbability()
    {
        // -input[label], mean over labels that count.
        using var logp = Make([-0.1, -2.0, -3.0, -1.5, -0.5, -4.0, -0.7, -0.8, -0.9], 3, 3);
        using var y = Tensor.FromArray(new long[] { 0, 1, -100 });
        using var none = logp.NllLoss(y, Reduction.None);
        using var sum = logp.NllLoss(y, Reduction.Sum);
        using var mean = logp.NllLoss(y);
        Reference.AssertClose(none.ToDoubleArray(), [0.1, 0.5, 0], 1e-15, 0, "none");
        Assert.That(sum.Item(), Is.EqualTo(0.6).Within(1e-15));
        Assert.That(mean.Item(), Is.EqualTo(0.3).Within(1e-15));
    }

    [Test]
    public void NllLossOfLogSoftmaxEqualsCrossEntropy()
    {
        using var x = Make(Logits, 2, 2, 3);
        using var y = Tensor.FromArray(Labels, 2, 2);
        using var logp = x.LogSoftmax(-1);
        using var nll = logp.NllLoss(y);
        using var ce = x.CrossEntropy(y);
        Assert.That(nll.Item(), Is.EqualTo(ce.Item()).Within(1e-12));
        using var none = logp.NllLoss(y, Reduction.None);
        Assert.That(none.Shape, Is.EqualTo(new[] { 2, 2 }));
    }

    [Test]
    public void NllLossGradients()
    {
        using var y = Tensor.FromArray(new[] { 3, -100, 0, 1, 3 });
        Reference.AssertGradients(t => t[0].NllLoss(y), Reference.Leaf([5, 4], 4));
        Reference.AssertGradients(t => t[0].NllLoss(y, Reduction.None), Reference.Leaf([5, 4], 5));
    }

    [Test]
    public void NllLossRejectsBadLabels()
    {
        using var logp = Make([-1, -1, -1, -1], 2, 2);
        using var outOfRange = Tensor.FromArray(new long[] { 0, 2 });
        using var floating = Tensor.FromArray(new[] { 0.0, 1.0 });
        using var wrongShape = Tensor.FromArray(new long[] { 0, 1, 1 });
        Ref.Throws<ArgumentException>(() => logp.NllLoss(outOfRange), "nll_loss", "label 2", "2 classes");
        Ref.Throws<ArgumentException>(() => logp.NllLoss(floating), "nll_loss", "float64");
        Ref.Throws<ArgumentException>(() => logp.NllLoss(wrongShape), "nll_loss", "[2, 2]", "[3]");
    }

    // ---- MSE and L1 -----------------------------------------------------------------------------

    private static readonly double[] Prediction = [0.5, -1.0, 2.0, 3.0, 0.0, -0.25];
    private static readonly double[] Target = [1.0, -1.0, 0.0, 3.5, -2.0, 0.25];

    [Test]
    public void MseLossMatchesFormula()
    {
        // squared errors 0.25, 0, 4, 0.25, 4, 0.25: sum 8.75, mean 8.75 / 6
        using var x = Make(Prediction, 2, 3);
        using var t = Make(Target, 2, 3);
        using var none = x.MseLoss(t, Reduction.None);
        using var sum = x.MseLoss(t, Reduction.Sum);
        using var mean = x.MseLoss(t);
        Reference.AssertClose(none.ToDoubleArray(), [0.25, 0, 4, 0.25, 4, 0.25], 1e-15, 0, "none");
        Assert.That(none.Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(sum.Item(), Is.EqualTo(8.75).Within(1e-14));
        Assert.That(mean.Item(), Is.EqualTo(8.75 / 6).Within(1e-14));
    }

    [Test]
    public void L1LossMatchesFormula()
    {
        // absolute errors 0.5, 0, 2, 0.5, 2, 0.5: sum 5.5
        using var x = Make(Prediction, 2, 3);
        using var t = Make(Target, 2, 3);
        using var none = x.L1Loss(t, Reduction.None);
        using var sum = x.L1Loss(t, Reduction.Sum);
        using var mean = x.L1Loss(t);
        Reference.AssertClose(none.ToDoubleArray(), [0.5, 0, 2, 0.5, 2, 0.5], 1e-15, 0, "none");
        Assert.That(sum.Item(), Is.EqualTo(5.5).Within(1e-14));
        Assert.That(mean.Item(), Is.EqualTo(5.5 / 6).Within(1e-14));
    }

    [Test]
    public void MseAndL1Gradients()
    {
        // d mse / dx = 2 (x - t) / n; d l1 / dx = sign(x - t) / n (0 where x == t, like PyTorch).
        using var x = Leaf(Prediction, 2, 3);
        using var t = Make(Target, 2, 3);
        using (var mse = x.MseLoss(t)) mse.Backward();
        Reference.AssertClose(x.Grad!.ToDoubleArray(), Prediction.Select((p, i) => 2 * (p - Target[i]) / 6).ToArray(), 1e-15, 0, "mse grad");
        x.ZeroGrad();
        using (var l1 = x.L1Loss(t)) l1.Backward();
        Reference.AssertClose(x.Grad!.ToDoubleArray(), Prediction.Select((p, i) => Math.Sign(p - Target[i]) / 6.0).ToArray(), 1e-15, 0, "l1 grad");

        foreach (var reduction in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
        {
            Reference.AssertGradients(u => u[0].MseLoss(u[1], reduction), Reference.Leaf([3, 4], 6), Reference.Leaf([3, 4], 7));
            Reference.AssertGradients(u => u[0].L1Loss(u[1], reduction), Reference.Leaf([3, 4], 8), Reference.Leaf([3, 4], 9));
        }
    }

    [Test]
    public void RegressionLossesRejectMismatchedShapes()
    {
        using var x = Tensor.Zeros([4, 1]);
        using var t = Tensor.Zeros([4]);
        using var t64 = Tensor.Zeros([4, 1], DType.Float64);
        Ref.Throws<ArgumentException>(() => x.MseLoss(t), "mse_loss", "[4, 1]", "[4]");
        Ref.Throws<ArgumentException>(() => x.L1Loss(t), "l1_loss", "[4, 1]", "[4]");
        Ref.Throws<ArgumentException>(() => x.BinaryCrossEntropyWithLogits(t64), "binary_cross_entropy_with_logits", "float32", "float64");
    }

    // ---- Binary cross-entropy with logits -------------------------------------------------------

    [Test]
    public void BceWithLogitsMatchesTheNaiveFormula()
    {
        // -[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))], fine in double for moderate x.
        double[] x = [-3, -0.5, 0, 0.7, 2.5, 6];
        double[] t = [0, 1, 0.5, 1, 0.2, 0];
        var expected = x.Select((v, i) =>
        {
            double s = 1 / (1 + Math.Exp(-v));
            return -(t[i] * Math.Log(s) + (1 - t[i]) * Math.Log(1 - s));
        }).ToArray();
        using var logits = Make(x, 2, 3);
        using var target = Make(t, 2, 3);
        using var none = logits.BinaryCrossEntropyWithLogits(target, Reduction.None);
        using var sum = logits.BinaryCrossEntropyWithLogits(target, Reduction.Sum);
        using var mean = logits.BinaryCrossEntropyWithLogits(target);
        Reference.AssertClose(none.ToDoubleArray(), expected, 1e-12, 1e-10, "none");
        Assert.That(none.Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(sum.Item(), Is.EqualTo(expected.Sum()).Within(1e-10));
        Assert.That(mean.Item(), Is.EqualTo(expected.Sum() / 6).Within(1e-10));
        Assert.That(expected[2], Is.EqualTo(Math.Log(2)).Within(1e-15), "x = 0 costs log 2 whatever the target");
    }

    [Test]
    public void BceWithLogitsIsStableForLargeLogits()
    {
        // float32 logits of ±100: the naive formula gives log(0) = -inf; the stable one gives
        // exactly 100 for the wrong side and ~0 for the right side.
        using var logits = Tensor.FromArray(new float[] { 100, -100, 100, -100 });
        using var target = Tensor.FromArray(new float[] { 0, 1, 1, 0 });
        using var loss = logits.BinaryCrossEntropyWithLogits(target, Reduction.None);
        Reference.AssertClose(loss.ToDoubleArray(), [100, 100, 0, 0], 1e-6, 1e-7, "stable");
    }

    [Test]
    public void BceWithLogitsGradientIsSigmoidMinusTarget()
    {
        // Including x = 0 exactly, where the chain through max(x, 0) and |x| would get it wrong.
        double[] x = [0, 0, -1.5, 3];
        double[] t = [1, 0.25, 0, 1];
        using var logits = Leaf(x, 4);
        using var target = Leaf(t, 4);
        using (var loss = logits.BinaryCrossEntropyWithLogits(target)) loss.Backward();
        Reference.AssertClose(logits.Grad!.ToDoubleArray(), x.Select((v, i) => (1 / (1 + Math.Exp(-v)) - t[i]) / 4).ToArray(), 1e-15, 1e-12, "d/dx");
        Reference.AssertClose(target.Grad!.ToDoubleArray(), x.Select(v => -v / 4).ToArray(), 1e-15, 0, "d/dt");
    }

    [TestCase(Reduction.Mean)]
    [TestCase(Reduction.Sum)]
    [TestCase(Reduction.None)]
    public void BceWithLogitsGradients(Reduction reduction)
    {
        var target = Tensor.FromArray(Reference.Values(12, 11).Select(v => (v + 1) / 2).ToArray(), 3, 4);   // in [0, 1)
        target.RequiresGrad = true;
        using (target)
            Reference.AssertGradients(u => u[0].BinaryCrossEntropyWithLogits(u[1], reduction), Reference.Leaf([3, 4], 10, scale: 3), target);
    }

    [Test]
    public void LossesLeaveNoBuffersBehind()
    {
        using var y = Tensor.FromArray(Labels);
        using var t = Tensor.Zeros([4, 3], DType.Float64);
        long before = Reference.SettledLiveBuffers();
        foreach (var reduction in new[] { Reduction.Mean, Reduction.None })
        {
            using var x = Leaf(Logits, 4, 3);
            using (var logp = x.LogSoftmax(-1))
            using (var nll = logp.NllLoss(y, reduction))
            using (var sum = nll.Sum())
                sum.Backward();
            using (var bce = x.BinaryCrossEntropyWithLogits(t, reduction))
            using (var sum = bce.Sum())
                sum.Backward();
            using (var mse = x.MseLoss(t, reduction))
            using (var sum = mse.Sum())
                sum.Backward();
            using (var ce = x.CrossEntropy(y, reduction, labelSmoothing: 0.1))
            using (var sum = ce.Sum())
                sum.Backward();
            using var bad = Tensor.FromArray(new long[] { 0, 1, 3, 2 });   // a label out of range throws mid-op
            Assert.Throws<ArgumentException>(() => x.CrossEntropy(bad, reduction).Dispose());
        }
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before));
    }

    // ---- Loss objects ---------------------------------------------------------------------------

    [Test]
    public void LossObjectsCallTheirOps()
    {
        using var x = Make(Logits, 4, 3);
        using var y = Tensor.FromArray(Labels);
        using var p = Make(Prediction, 2, 3);
        using var t = Make(Target, 2, 3);
        ILoss ce = new CrossEntropyLoss(labelSmoothing: 0.2);
        using var a = ce.Compute(x, y);
        using var b = x.CrossEntropy(y, labelSmoothing: 0.2);
        Assert.That(a.Item(), Is.EqualTo(b.Item()));
        using var mse = new MseLoss(Reduction.Sum).Compute(p, t);
        Assert.That(mse.Item(), Is.EqualTo(8.75).Within(1e-14));
        using var l1 = new L1Loss().Compute(p, t);
        Assert.That(l1.Item(), Is.EqualTo(5.5 / 6).Within(1e-14));
        using var logp = x.LogSoftmax(-1);
        using var nll = new NllLoss().Compute(logp, y);
        using var direct = x.CrossEntropy(y);
        Assert.That(nll.Item(), Is.EqualTo(direct.Item()).Within(1e-12));
        using var zeros = Tensor.Zeros([2, 3], DType.Float64);
        using var bce = new BceWithLogitsLoss(Reduction.Sum).Compute(p, zeros);
        using var bceDirect = p.BinaryCrossEntropyWithLogits(zeros, Reduction.Sum);
        Assert.That(bce.Item(), Is.EqualTo(bceDirect.Item()));
    }
}
