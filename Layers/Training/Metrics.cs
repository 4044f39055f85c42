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
}

/// <summary>Fraction of examples whose highest-scoring class (argmax of the last dim) equals the integer label.</summary>
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
        using (Tape.NoGrad())
        {
            using var predicted = prediction.ArgMax(-1);
            using var labels = target.DType == DType.Int64 ? target.Detach() : target.To(DType.Int64);
            using var hits = predicted.Eq(labels);
            using var count = hits.Sum();
            _correct += (long)count.Item();
            _total += labels.Count;
        }
    }

    /// <inheritdoc />
    public double Result => _total == 0 ? 0 : (double)_correct / _total;
}
