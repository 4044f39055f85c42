namespace Tensorium.Layers;

/// <summary>
/// What the classification metrics share: class scores [..., C] and their targets flattened to
/// N examples, with the targets as int64 labels in 0..C-1. Targets are either labels [...]
/// (sparse, as for cross-entropy) or one-hot / probability rows [..., C] (categorical: the
/// label is the argmax of each row), as Keras's sparse and categorical metrics take them.
/// </summary>
internal static class ClassLabels
{
    /// <summary>
    /// Scores as [N, C] and labels as int64 [N], both new tensors the caller disposes. Throws,
    /// naming <paramref name="metric"/>, when the shapes do not pair up or a label is outside 0..C-1.
    /// </summary>
    public static (Tensor Scores, Tensor Labels) Flatten(string metric, Tensor prediction, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (prediction.Rank == 0 || prediction.Size(-1) < 2)
            throw new ArgumentException($"{metric}: expected class scores [..., C] with C >= 2, got shape {Layout.Format(prediction.Layout.Shape)}.");
        int classes = prediction.Size(-1), count = prediction.Count / classes;
        bool categorical = target.Layout.Shape.SequenceEqual(prediction.Layout.Shape);
        bool sparse = target.Layout.Shape.SequenceEqual(prediction.Layout.Shape[..^1]);
        if (!categorical && !sparse)
            throw new ArgumentException($"{metric}: predictions {Layout.Format(prediction.Layout.Shape)} need labels {Layout.Format(prediction.Layout.Shape[..^1])} or one-hot targets {Layout.Format(prediction.Layout.Shape)}, got {Layout.Format(target.Layout.Shape)}.");
        if (sparse && target.DType.IsFloating())
            throw new ArgumentException($"{metric}: expected integer labels, got {target.DType.Name()}.");
        using (Tape.NoGrad())
        {
            var scores = prediction.Reshape(count, classes);
            try
            {
                Tensor labels;
                if (categorical)
                {
                    using var rows = target.Reshape(count, classes);
                    labels = rows.ArgMax(-1);
                }
                else
                {
                    using var flat = target.Reshape(count);
                    labels = flat.To(DType.Int64);
                }
                CheckRange(metric, labels, classes);
                return (scores, labels);
            }
            catch
            {
                scores.Dispose();
                throw;
            }
        }
    }

    /// <summary>Throws when a label is outside 0..classes-1 (two scalars read back, not the labels).</summary>
    private static void CheckRange(string metric, Tensor labels, int classes)
    {
        if (labels.Count == 0) return;
        using var lowest = labels.Min();
        using var highest = labels.Max();
        long lo = (long)lowest.Item(), hi = (long)highest.Item();
        if (lo < 0 || hi >= classes)
        {
            labels.Dispose();
            throw new ArgumentException($"{metric}: label {(lo < 0 ? lo : hi)} is outside the {classes} classes 0..{classes - 1} of the predictions.");
        }
    }
}
