using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>Top-k accuracy, precision/recall/F1 and the confusion matrix against counts worked out by hand (issue 16).</summary>
public class MetricsTests
{
    // Argmax of each row: 0, 0, 1, 1, 2, 1; labels 0, 1, 1, 1, 2, 2. Rows of the matrix are actual classes:
    //   actual 0: [1, 0, 0]   actual 1: [1, 2, 0]   actual 2: [0, 1, 1]
    private static Tensor Scores() => Tensor.FromArray(new float[]
    {
        3, 1, 0,   2, 1, 0,   0, 5, 1,   1, 2, 0,   0, 0, 1,   0, 3, 2,
    }, 6, 3);

    private static Tensor Labels() => Tensor.FromArray(new long[] { 0, 1, 1, 1, 2, 2 });

    [Test]
    public void ConfusionMatrixCountsActualAgainstPredicted()
    {
        using var scores = Scores();
        using var labels = Labels();
        var matrix = new ConfusionMatrix(classNames: ["cat", "dog", "bird"]);
        matrix.Update(scores, labels);
        long[,] expected = { { 1, 0, 0 }, { 1, 2, 0 }, { 0, 1, 1 } };
        for (int a = 0; a < 3; a++)
            for (int p = 0; p < 3; p++)
                Assert.That(matrix[a, p], Is.EqualTo(expected[a, p]), $"actual {a}, predicted {p}");
        Assert.That(matrix.Total, Is.EqualTo(6));
        Assert.That(matrix.Result, Is.EqualTo(4.0 / 6).Within(1e-12), "the diagonal's share");
        Assert.That(matrix.Precision(0), Is.EqualTo(0.5).Within(1e-12));
        Assert.That(matrix.Recall(2), Is.EqualTo(0.5).Within(1e-12));
        Assert.That(matrix.F1(1), Is.EqualTo(2.0 / 3).Within(1e-12));

        matrix.Update(scores, labels);   // batches add up
        Assert.That(matrix[1, 1], Is.EqualTo(4));
        string text = matrix.ToString();
        TestContext.Out.WriteLine(text);
        Assert.That(text, Does.Contain("dog").And.Contain("precision").And.Contain("support"));
        Assert.That(text.Split('\n').First(l => l.StartsWith(" 1 dog")), Does.EndWith("2    4    0"));
        matrix.Reset();
        Assert.That(matrix.Total, Is.EqualTo(0));
        Assert.That(matrix[1, 1], Is.EqualTo(0));
    }

    [Test]
    public void OneHotTargetsCountAsTheirArgmax()
    {
        using var scores = Scores();
        using var labels = Labels();
        using var oneHot = labels.OneHot(3);
        var sparse = new ConfusionMatrix();
        var categorical = new ConfusionMatrix();
        sparse.Update(scores, labels);
        categorical.Update(scores, oneHot);
        Assert.That(categorical.ToString(), Is.EqualTo(sparse.ToString()));
    }

    [Test]
    public void PrecisionRecallAndF1AverageThePerClassScores()
    {
        using var scores = Scores();
        using var labels = Labels();
        IMetric Fed(IMetric m)
        {
            m.Update(scores, labels);
            return m;
        }
        Assert.That(Fed(new Precision()).Result, Is.EqualTo((0.5 + 2.0 / 3 + 1) / 3).Within(1e-12), "macro precision");
        Assert.That(Fed(new Recall()).Result, Is.EqualTo((1 + 2.0 / 3 + 0.5) / 3).Within(1e-12), "macro recall");
        Assert.That(Fed(new F1Score()).Result, Is.EqualTo(2.0 / 3).Within(1e-12), "every class has F1 2/3");
        Assert.That(Fed(new Precision(Averaging.Weighted)).Result, Is.EqualTo((0.5 * 1 + 2.0 / 3 * 3 + 1 * 2) / 6).Within(1e-12), "weighted by support 1, 3, 2");
        Assert.That(Fed(new Recall(Averaging.Micro)).Result, Is.EqualTo(4.0 / 6).Within(1e-12), "micro is the accuracy");
        Assert.That(new F1Score().Name, Is.EqualTo("f1_score"));
        Assert.That(((IMetric)new Precision()).HigherIsBetter, Is.True);
    }

    [Test]
    public void TopKAccuracyCountsLabelsAmongTheKBestWithTiesInTheirFavour()
    {
        using var scores = Tensor.FromArray(new float[]
        {
            0.1f, 0.5f, 0.3f, 0.2f,   // label 2 is second
            0.9f, 0.1f, 0.0f, 0.0f,   // label 0 is first
            0.2f, 0.2f, 0.2f, 0.4f,   // label 1 ties for second
            0.1f, 0.2f, 0.3f, 0.4f,   // label 0 is last
        }, 4, 4);
        using var labels = Tensor.FromArray(new int[] { 2, 0, 1, 0 });
        double TopK(int k)
        {
            var metric = new TopKAccuracy(k);
            metric.Update(scores, labels);
            return metric.Result;
        }
        Assert.That(TopK(1), Is.EqualTo(0.25));
        Assert.That(TopK(2), Is.EqualTo(0.75));
        Assert.That(TopK(3), Is.EqualTo(0.75));
        Assert.That(TopK(4), Is.EqualTo(1.0));
        Assert.That(new TopKAccuracy(3).Name, Is.EqualTo("top3_accuracy"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TopKAccuracy(0));

        // Without ties top-1 is the plain accuracy.
        using var random = Tensor.Normal([50, 7], 0, 1, new Generator(1));
        using var randomLabels = Tensor.FromArray(Enumerable.Range(0, 50).Select(i => (long)(i % 7)).ToArray());
        var top1 = new TopKAccuracy(1);
        var accuracy = new Accuracy();
        top1.Update(random, randomLabels);
        accuracy.Update(random, randomLabels);
        Assert.That(top1.Result, Is.EqualTo(accuracy.Result));
    }

    [Test]
    public void BadLabelsAndShapesAreErrorsNamingTheMetric()
    {
        using var scores = Scores();
        using var outOfRange = Tensor.FromArray(new long[] { 0, 1, 3, 1, 2, 2 });
        var e = Assert.Throws<ArgumentException>(() => new ConfusionMatrix().Update(scores, outOfRange));
        Assert.That(e!.Message, Does.Contain("confusion_matrix").And.Contain("label 3").And.Contain("0..2"));
        using var wrongShape = Tensor.FromArray(new long[] { 0, 1, 1 });
        e = Assert.Throws<ArgumentException>(() => new TopKAccuracy(2).Update(scores, wrongShape));
        Assert.That(e!.Message, Does.Contain("top2_accuracy").And.Contain("[6]").And.Contain("[3]"));
        using var labels = Labels();
        e = Assert.Throws<ArgumentException>(() => new ConfusionMatrix(4).Update(scores, labels));
        Assert.That(e!.Message, Does.Contain("3 classes, expected 4"));
    }

    [Test]
    public void EvaluateFillsTheConfusionMatrixAndLogsTheScalarMetrics()
    {
        using var data = new TensorDataset(Tensor.Normal([40, 4], 0, 1, new Generator(2)),
            Tensor.FromArray(Enumerable.Range(0, 40).Select(i => (long)(i % 3)).ToArray()));
        using var model = new Linear(4, 3, generator: new Generator(3));
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0.1);
        var confusion = new ConfusionMatrix(3, ["a", "b", "c"]);
        var trainer = new Trainer(model, optimizer, new CrossEntropyLoss(),
            [new Accuracy(), new TopKAccuracy(2), new F1Score(), confusion]) { Output = null };
        var logs = trainer.Evaluate(data, batchSize: 16);
        Assert.That(logs.Keys, Is.EquivalentTo(new[] { "loss", "accuracy", "top2_accuracy", "f1_score" }), "the matrix is not a number to log");
        Assert.That(confusion.Total, Is.EqualTo(40));
        Assert.That(confusion.Result, Is.EqualTo(logs["accuracy"]).Within(1e-12));

        string path = Path.Combine(Path.GetTempPath(), $"tensorium-confusion-{Guid.NewGuid():N}.svg");
        try
        {
            confusion.WriteSvg(path, "test <set>");
            string svg = File.ReadAllText(path);
            Assert.That(svg, Does.StartWith("<svg").And.Contain("test &lt;set&gt;").And.Contain(">predicted<"));
            Assert.That(System.Text.RegularExpressions.Regex.Matches(svg, "<rect x=").Count, Is.EqualTo(9), "one cell per (actual, predicted) pair");
            Assert.That(svg, Does.Contain($">{confusion[0, 0]}</text>"));
        }
        finally { File.Delete(path); }
    }
}
