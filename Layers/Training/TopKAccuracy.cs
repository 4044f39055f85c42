namespace Tensorium.Layers;

/// <summary>
/// Fraction of examples whose label is among the <see cref="K"/> highest-scoring classes
/// (Keras's sparse_top_k_categorical_accuracy, torchmetrics' top_k). A class ties in the label's
/// favour: the example counts when fewer than K classes score strictly higher than its label, as
/// with tf.math.in_top_k. Targets are labels [...] or one-hot rows (see <see cref="Accuracy"/>).
/// </summary>
public sealed class TopKAccuracy : IMetric
{
    private long _correct, _total;

    /// <summary>Counts an example as right when its label is among the <paramref name="k"/> best-scored classes.</summary>
    public TopKAccuracy(int k = 5)
    {
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), $"TopKAccuracy: expected k >= 1, got {k}.");
        K = k;
    }

    /// <summary>How many of the best-scored classes may hold the label.</summary>
    public int K { get; }

    /// <inheritdoc />
    public string Name => $"top{K}_accuracy";

    /// <inheritdoc />
    public void Reset() => (_correct, _total) = (0, 0);

    /// <inheritdoc />
    public void Update(Tensor prediction, Tensor target)
    {
        var (scores, labels) = ClassLabels.Flatten(Name, prediction, target);
        using (scores)
        using (labels)
        using (Tape.NoGrad())
        {
            // The label's own score, then how many classes beat it: a hit when fewer than K do.
            using var column = labels.Unsqueeze(1);
            using var labelScore = scores.Gather(1, column);
            using var beats = scores.Gt(labelScore);
            using var rank = beats.Sum(1);
            using var hits = rank.Lt(K);
            using var count = hits.Sum();
            _correct += (long)count.Item();
            _total += labels.Count;
        }
    }

    /// <inheritdoc />
    public double Result => _total == 0 ? 0 : (double)_correct / _total;
}
