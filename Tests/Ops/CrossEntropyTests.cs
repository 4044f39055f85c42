namespace Tensorium.Tests.Ops;

/// <summary>
/// The fused cross-entropy op on every device against a plain scalar reference: awkward shapes
/// (one class, more classes than a work-group, rows of every count), ignored labels, label
/// smoothing, every reduction, non-contiguous logits, float32 and float64; the gradient against
/// the textbook (softmax - target) and by float64 finite differences; bad labels.
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class CrossEntropyTests(Device device)
{
    private const int IgnoreIndex = -100;

    /// <summary>Labels for <paramref name="rows"/> rows: spread over the classes, every fifth one ignored.</summary>
    private static long[] Labels(int rows, int classes) =>
        Enumerable.Range(0, rows).Select(r => r % 5 == 3 ? IgnoreIndex : (long)(r * 7 % classes)).ToArray();

    private static double[] LogSoftmaxRow(double[] x, int row, int classes)
    {
        var r = x.Skip(row * classes).Take(classes).ToArray();
        double max = r.Max(), lse = max + Math.Log(r.Sum(v => Math.Exp(v - max)));
        return r.Select(v => v - lse).ToArray();
    }

    /// <summary>Per-row loss -Σ_c target_c log p_c with target (1 - ε) one-hot + ε/C; 0 for ignored rows.</summary>
    private static double[] LossReference(double[] x, long[] labels, int classes, double smoothing) =>
        labels.Select((label, r) =>
        {
            if (label == IgnoreIndex) return 0.0;
            var lp = LogSoftmaxRow(x, r, classes);
            return Enumerable.Range(0, classes).Sum(c => -((c == label ? 1 - smoothing : 0) + smoothing / classes) * lp[c]);
        }).ToArray();

    /// <summary>d mean-loss / d x = (softmax - target) / (labels that count); 0 on ignored rows.</summary>
    private static double[] MeanGradientReference(double[] x, long[] labels, int classes, double smoothing)
    {
        int counted = labels.Count(l => l != IgnoreIndex);
        var grad = new double[x.Length];
        for (int r = 0; r < labels.Length; r++)
        {
            if (labels[r] == IgnoreIndex) continue;
            var p = LogSoftmaxRow(x, r, classes).Select(Math.Exp).ToArray();
            for (int c = 0; c < classes; c++)
                grad[r * classes + c] = (p[c] - ((c == labels[r] ? 1 - smoothing : 0) + smoothing / classes)) / counted;
        }
        return grad;
    }

    private static IEnumerable<TestCaseData> Shapes()
    {
        // (rows, classes): one class; rows that fill no group evenly; classes below a warp, just
        // past one, past the 256-item group, and over a thousand.
        (int, int)[] shapes = [(7, 1), (1, 3), (67, 10), (13, 33), (9, 257), (5, 1000), (3, 1037)];
        foreach (var (rows, classes) in shapes)
            foreach (var smoothing in new[] { 0.0, 0.1 })
                foreach (var dtype in new[] { DType.Float32, DType.Float64 })
                    yield return new TestCaseData(rows, classes, smoothing, dtype)
                        .SetArgDisplayNames($"{rows}x{classes}", $"eps {smoothing}", dtype.ToString());
    }

    [TestCaseSource(nameof(Shapes))]
    public void ForwardAndGradientMatchScalarReference(int rows, int classes, double smoothing, DType dtype)
    {
        var raw = Reference.Values(rows * classes, rows + classes).Select(v => v * 6).ToArray();
        var values = dtype == DType.Float32 ? Ref.AsFloat(raw) : raw;
        var labels = Labels(rows, classes);
        var perRow = LossReference(values, labels, classes, smoothing);
        var (atol, rtol) = dtype == DType.Float32 ? (2e-5, 2e-5) : (1e-12, 1e-12);

        using var x = Ref.Make(values, [rows, classes], device, dtype);
        x.RequiresGrad = true;
        using var y = Tensor.FromSpan<long>(labels, [rows], device);
        using var none = x.CrossEntropy(y, Reduction.None, labelSmoothing: smoothing);
        using var sum = x.CrossEntropy(y, Reduction.Sum, labelSmoothing: smoothing);
        using var mean = x.CrossEntropy(y, labelSmoothing: smoothing);
        Reference.AssertClose(none.ToDoubleArray(), perRow, atol, rtol, "none");
        Reference.AssertClose([sum.Item()], [perRow.Sum()], atol * rows, rtol, "sum");
        Reference.AssertClose([mean.Item()], [perRow.Sum() / labels.Count(l => l != IgnoreIndex)], atol, rtol, "mean");
        Assert.That(none.ToDoubleArray().Where((_, r) => labels[r] == IgnoreIndex), Is.All.EqualTo(0.0), "ignored rows lose exactly 0");

        mean.Backward();
        Reference.AssertClose(x.Grad!.ToDoubleArray(), MeanGradientReference(values, labels, classes, smoothing), atol / rows, rtol, "d mean / d logits");
    }

    [Test]
    public void NonContiguousLogitsAndInt32Labels()
    {
        // Logits [2, 6, 9] made by slicing the class axis out of [2, 6, 12] and transposing the two
        // leading axes: neither a contiguous tensor nor a view reshape can flatten.
        int b = 2, t = 6, classes = 9;
        using var raw = Reference.Random([t, b, 12], device, 3);
        using var scaled = raw * 5.0;
        using var logits = scaled.Narrow(2, 2, classes).Transpose(0, 1);
        var values = logits.Contiguous().ToDoubleArray();
        var labels = Labels(b * t, classes);
        using var y = Tensor.FromSpan<int>(labels.Select(l => (int)l).ToArray(), [b, t], device);
        using var loss = logits.CrossEntropy(y, Reduction.None, labelSmoothing: 0.1);
        Assert.That(loss.Shape, Is.EqualTo(new[] { b, t }));
        Reference.AssertClose(loss.ToDoubleArray(), LossReference(values, labels, classes, 0.1), 2e-5, 2e-5, "strided logits");
    }

    [TestCase(Reduction.Mean)]
    [TestCase(Reduction.Sum)]
    [TestCase(Reduction.None)]
    public void Gradients(Reduction reduction)
    {
        // Smoothing, a custom ignore index (label 2 is ignored) and a transposed (strided) input.
        using var y = Tensor.FromSpan<long>([0, 2, 4, 1, 2, 3, 0, 4], [2, 4], device);
        Reference.AssertGradients(t => t[0].Transpose(0, 1).CrossEntropy(y, reduction, ignoreIndex: 2, labelSmoothing: 0.15),
            Ref.Leaf([4, 2, 5], device, 21, v => v * 3));
        Reference.AssertGradients(t => t[0].CrossEntropy(y, reduction, ignoreIndex: 2),
            Ref.Leaf([2, 4, 5], device, 22, v => v * 3));
    }

    [Test]
    public void AllIgnoredMeanIsNaNWithZeroGradient()
    {
        using var x = Ref.Make([1, 2, 3, 4], [2, 2], device);
        x.RequiresGrad = true;
        using var y = Tensor.FromSpan<long>([IgnoreIndex, IgnoreIndex], [2], device);
        using var loss = x.CrossEntropy(y);
        Assert.That(double.IsNaN(loss.Item()), "0/0, like PyTorch");
        loss.Backward();
        Assert.That(x.Grad!.ToDoubleArray(), Is.All.EqualTo(0.0), "ignored rows get no gradient");
    }

    [TestCase(3L, "label 3")]
    [TestCase(-1L, "label -1")]
    public void BadLabelThrowsNamingTheOpTheLabelAndTheClassCount(long bad, string fragment)
    {
        using var x = Tensor.Zeros([3, 3], device: device);
        using var y = Tensor.FromSpan<long>([0, IgnoreIndex, bad], [3], device);
        Ref.Throws<ArgumentException>(() => x.CrossEntropy(y).Dispose(), "cross_entropy", fragment, "3 classes");
    }
}
