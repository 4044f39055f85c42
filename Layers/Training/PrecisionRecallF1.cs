namespace Tensorium.Layers;

/// <summary>How a per-class score becomes one number (sklearn's and torchmetrics' <c>average</c>).</summary>
public enum Averaging
{
    /// <summary>The plain mean over the classes that occur among the labels or the predictions.</summary>
    Macro,
    /// <summary>The mean over classes weighted by each class's number of examples.</summary>
    Weighted,
    /// <summary>From the counts pooled over all classes; for single-label classification this equals the accuracy.</summary>
    Micro,
}

/// <summary>
/// Precision, recall or F1 of the argmax over classes, averaged over the classes as
/// <see cref="Averaging"/> says: the three metric classes differ only in the per-class score.
/// A class with no predicted (for precision) or no actual (for recall) example scores 0.
/// </summary>
public abstract class ClassScoreMetric : IMetric
{
    private readonly ConfusionMatrix _matrix;

    /// <summary>Starts a metric over <paramref name="classes"/> classes (from the predictions when null).</summary>
    private protected ClassScoreMetric(Averaging average, int? classes)
    {
        if (!Enum.IsDefined(average)) throw new ArgumentOutOfRangeException(nameof(average), $"{GetType().Name}: unknown averaging {average}.");
        Average = average;
        _matrix = new ConfusionMatrix(classes);
    }

    /// <summary>How the per-class scores are combined.</summary>
    public Averaging Average { get; }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <summary>The score of class <paramref name="c"/> in the counts of <paramref name="matrix"/>.</summary>
    private protected abstract double Score(ConfusionMatrix matrix, int c);

    /// <inheritdoc />
    public void Reset() => _matrix.Reset();

    /// <inheritdoc />
    public void Update(Tensor prediction, Tensor target) => _matrix.Update(prediction, target);

    /// <summary>The score of class <paramref name="c"/> over the batches since <see cref="Reset"/>.</summary>
    public double ScoreOf(int c) => Score(_matrix, c);

    /// <inheritdoc />
    public double Result
    {
        get
        {
            if (_matrix.Total == 0) return 0;
            // Single-label: pooled true positives over pooled predictions (or labels) is the
            // diagonal's share, for precision, recall and F1 alike.
            if (Average == Averaging.Micro) return _matrix.Result;
            var classes = Enumerable.Range(0, _matrix.Classes);
            if (Average == Averaging.Weighted)
                return classes.Sum(c => Score(_matrix, c) * _matrix.Support(c)) / _matrix.Total;
            var present = classes.Where(c => _matrix.Support(c) > 0 || Enumerable.Range(0, _matrix.Classes).Any(a => _matrix[a, c] > 0)).ToList();
            return present.Average(c => Score(_matrix, c));
        }
    }
}

/// <summary>Of the examples predicted as a class, the fraction that are of it, averaged over classes (Keras Precision, torchmetrics MulticlassPrecision).</summary>
/// <param name="average">How the per-class precisions are combined (macro by default).</param>
/// <param name="classes">Number of classes; taken from the predictions' last dim when null.</param>
public sealed class Precision(Averaging average = Averaging.Macro, int? classes = null) : ClassScoreMetric(average, classes)
{
    /// <inheritdoc />
    public override string Name => "precision";

    private protected override double Score(ConfusionMatrix matrix, int c) => matrix.Precision(c);
}

/// <summary>Of the examples of a class, the fraction predicted as it, averaged over classes (Keras Recall, torchmetrics MulticlassRecall).</summary>
/// <param name="average">How the per-class recalls are combined (macro by default).</param>
/// <param name="classes">Number of classes; taken from the predictions' last dim when null.</param>
public sealed class Recall(Averaging average = Averaging.Macro, int? classes = null) : ClassScoreMetric(average, classes)
{
    /// <inheritdoc />
    public override string Name => "recall";

    private protected override double Score(ConfusionMatrix matrix, int c) => matrix.Recall(c);
}

/// <summary>The harmonic mean of precision and recall per class, averaged over classes (Keras F1Score, torchmetrics MulticlassF1Score).</summary>
/// <param name="average">How the per-class F1 scores are combined (macro by default).</param>
/// <param name="classes">Number of classes; taken from the predictions' last dim when null.</param>
public sealed class F1Score(Averaging average = Averaging.Macro, int? classes = null) : ClassScoreMetric(average, classes)
{
    /// <inheritdoc />
    public override string Name => "f1_score";

    private protected override double Score(ConfusionMatrix matrix, int c) => matrix.F1(c);
}
