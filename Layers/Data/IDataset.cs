namespace Tensorium.Data;

/// <summary>
/// A collection of examples that can be fetched in batches, like torch.utils.data.Dataset.
/// Example i is an (input, target) pair; a batch stacks the chosen examples along a new first
/// dimension. <see cref="DataLoader"/> walks a dataset batch by batch.
/// </summary>
public interface IDataset
{
    /// <summary>Number of examples.</summary>
    int Count { get; }

    /// <summary>
    /// The examples at <paramref name="indices"/> (each in 0..Count-1, repeats allowed), in that
    /// order, as new tensors whose first dimension is indices.Length. The caller owns (disposes)
    /// both tensors.
    /// </summary>
    (Tensor Inputs, Tensor Targets) GetBatch(ReadOnlySpan<int> indices);
}
