namespace Tensorium.Layers;

/// <summary>A running metric over the batches of an epoch (Keras metrics).</summary>
public interface IMetric
{
    /// <summary>Name in logs and history, e.g. "accuracy".</summary>
    string Name { get; }
    /// <summary>Forgets the batches seen so far.</summary>
    void Reset();
    /// <summary>Adds one batch.</summary>
    void Update(Tensor prediction, Tensor target);
    /// <summary>The value over all batches since <see cref="Reset"/>.</summary>
    double Result { get; }
    /// <summary>
    /// Whether a larger <see cref="Result"/> is better (accuracy) or a smaller one (an error).
    /// <see cref="EarlyStopping"/> and <see cref="ModelCheckpoint"/> read it to know which way
    /// a monitored metric should move.
    /// </summary>
    bool HigherIsBetter => true;
    /// <summary>
    /// Whether Fit and Evaluate put <see cref="Result"/> into their logs (progress bar, history,
    /// callbacks). False for a metric whose value is not one number, such as
    /// <see cref="ConfusionMatrix"/>: read it from the metric object after the pass.
    /// </summary>
    bool Logged => true;
}

/// <summary>
/// Fraction of examples whose highest-scoring class (argmax of the last dim) equals the label.
/// Targets are integer labels [...] or one-hot rows [..., C] (the label is each row's argmax),
/// as for the other classification metrics (see <see cref="TopKAccuracy"/>).
/// </summary>
public sealed class Accuracy : IMetric
{
    private long _correct, _total;

    /// <inheritdoc />
    public string Name => "accuracy";

    /// <inheritdoc />
    public void Reset() => (_correct, _total) = (0, 0);

    /// <inheritdoc />
    public void Update(Tensor prediction, Tensor target)
    {
        // Through ClassLabels, not a bare Eq: one-hot targets [N, C] would broadcast against the
        // argmax [N] and, when N == C, count N * C comparisons without an error.
        var (scores, labels) = ClassLabels.Flatten(Name, prediction, target);
        using (scores)
        using (labels)
        using (Tape.NoGrad())
        {
            using var predicted = scores.ArgMax(-1);
            using var hits = predicted.Eq(labels);
            using var count = hits.Sum();
            _correct += (long)count.Item();
            _total += labels.Count;
        }
    }

    /// <inheritdoc />
    public double Result => _total == 0 ? 0 : (double)_correct / _total;
}
