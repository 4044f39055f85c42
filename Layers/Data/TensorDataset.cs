namespace Tensorium.Data;

/// <summary>
/// A dataset held in two tensors whose first dimension counts the examples (like
/// torch.utils.data.TensorDataset): inputs [N, ...] and targets [N, ...]. A batch is an
/// index_select along dimension 0. The dataset owns both tensors and disposes them; scopes
/// leave them alone, so a dataset built inside a <see cref="TensorScope"/> outlives it.
/// </summary>
public sealed class TensorDataset : IDataset, IDisposable
{
    /// <summary>Wraps <paramref name="inputs"/> and <paramref name="targets"/>, taking ownership of both.</summary>
    public TensorDataset(Tensor inputs, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.IsDisposed || targets.IsDisposed)
            throw new ObjectDisposedException(nameof(Tensor), "TensorDataset: the inputs or targets tensor was already disposed.");
        if (inputs.Rank == 0 || targets.Rank == 0)
            throw new ArgumentException($"TensorDataset: inputs and targets need a first dimension that counts examples, got shapes {Layout.Format(inputs.Layout.Shape)} and {Layout.Format(targets.Layout.Shape)}.");
        if (inputs.Layout.Shape[0] != targets.Layout.Shape[0])
            throw new ArgumentException($"TensorDataset: inputs have {inputs.Layout.Shape[0]} examples (shape {Layout.Format(inputs.Layout.Shape)}) but targets have {targets.Layout.Shape[0]} (shape {Layout.Format(targets.Layout.Shape)}).");
        // Owned like a layer's weights: a TensorScope that happens to be open must not free them.
        inputs.OwnedByParent = true;
        targets.OwnedByParent = true;
        Inputs = inputs;
        Targets = targets;
    }

    /// <summary>All inputs, [N, ...] (owned by the dataset: do not dispose).</summary>
    public Tensor Inputs { get; }

    /// <summary>All targets, [N, ...] (owned by the dataset: do not dispose).</summary>
    public Tensor Targets { get; }

    /// <inheritdoc />
    public int Count => Inputs.Layout.Shape[0];

    /// <inheritdoc />
    public (Tensor Inputs, Tensor Targets) GetBatch(ReadOnlySpan<int> indices)
    {
        DatasetChecks.Indices("TensorDataset", indices, Count);
        var rows = new long[indices.Length];
        for (int i = 0; i < rows.Length; i++) rows[i] = indices[i];
        // The index lives where the data does: index_select takes its index on the tensor's device.
        using var index = Tensor.FromSpan<long>(rows, [rows.Length], Inputs.Device);
        using var targetIndex = Targets.Device == Inputs.Device ? null : Tensor.FromSpan<long>(rows, [rows.Length], Targets.Device);
        // Data is not something we differentiate through: keep batches off the tape.
        using (Tape.NoGrad())
        {
            var inputs = Inputs.IndexSelect(0, index);
            try
            {
                return (inputs, Targets.IndexSelect(0, targetIndex ?? index));
            }
            catch
            {
                inputs.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// A new dataset (a copy) with only the examples whose label satisfies
    /// <paramref name="labelPredicate"/>, in their original order. Targets must be 1-d integer
    /// labels. <paramref name="relabel"/> optionally maps the kept labels (transfer learning:
    /// keep classes 5-9 and relabel them 0-4 with <c>l =&gt; l - 5</c>); relabelled targets are int64.
    /// </summary>
    public TensorDataset Where(Func<long, bool> labelPredicate, Func<long, long>? relabel = null)
    {
        ArgumentNullException.ThrowIfNull(labelPredicate);
        var labels = Labels("where");
        var keep = Enumerable.Range(0, labels.Length).Where(i => labelPredicate(labels[i])).ToArray();
        var (inputs, targets) = GetBatch(keep);
        if (relabel == null) return new TensorDataset(inputs, targets);
        targets.Dispose();
        try
        {
            long[] relabelled = keep.Select(i => relabel(labels[i])).ToArray();
            return new TensorDataset(inputs, Tensor.FromSpan<long>(relabelled, [relabelled.Length], Targets.Device));
        }
        catch
        {
            inputs.Dispose();
            throw;
        }
    }

    /// <summary>The targets as host labels; they must be a 1-d integer tensor.</summary>
    private long[] Labels(string op)
    {
        if (Targets.Rank != 1 || Targets.DType.IsFloating())
            throw new InvalidOperationException($"TensorDataset.{op}: expected 1-d integer labels as targets, got shape {Layout.Format(Targets.Layout.Shape)} {Targets.DType.Name()}.");
        return Targets.DType == DType.Int64 ? Targets.ToArray<long>() : Array.ConvertAll(Targets.ToArray<int>(), v => (long)v);
    }

    /// <summary>Disposes the inputs and targets.</summary>
    public void Dispose()
    {
        Inputs.Dispose();
        Targets.Dispose();
    }
}
