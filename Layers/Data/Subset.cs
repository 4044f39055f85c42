namespace Tensorium.Data;

/// <summary>
/// A view of some examples of another dataset, picked by index (torch.utils.data.Subset).
/// Nothing is copied: a batch of the subset is a batch of the underlying dataset at the mapped
/// indices. The subset does not own the underlying dataset.
/// </summary>
public sealed class Subset : IDataset
{
    private readonly int[] _indices;

    /// <summary>The examples of <paramref name="dataset"/> at <paramref name="indices"/>, in that order.</summary>
    public Subset(IDataset dataset, IEnumerable<int> indices)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(indices);
        Dataset = dataset;
        _indices = indices.ToArray();
        DatasetChecks.Indices("Subset", _indices, dataset.Count);
    }

    /// <summary>The underlying dataset.</summary>
    public IDataset Dataset { get; }

    /// <summary>Which examples of <see cref="Dataset"/> this subset shows.</summary>
    public IReadOnlyList<int> Indices => _indices;

    /// <inheritdoc />
    public int Count => _indices.Length;

    /// <inheritdoc />
    public (Tensor Inputs, Tensor Targets) GetBatch(ReadOnlySpan<int> indices)
    {
        DatasetChecks.Indices("Subset", indices, Count);
        var mapped = new int[indices.Length];
        for (int i = 0; i < mapped.Length; i++) mapped[i] = _indices[indices[i]];
        return Dataset.GetBatch(mapped);
    }

    /// <summary>
    /// Splits <paramref name="dataset"/> at random into two disjoint subsets of
    /// <paramref name="firstCount"/> and Count - firstCount examples (a train/validation split);
    /// the same generator seed gives the same split.
    /// </summary>
    public static (Subset First, Subset Second) RandomSplit(IDataset dataset, int firstCount, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(generator);
        if (firstCount < 0 || firstCount > dataset.Count)
            throw new ArgumentOutOfRangeException(nameof(firstCount), $"Subset.RandomSplit: expected a first part of 0..{dataset.Count} examples, got {firstCount}.");
        var order = Permutation.Draw(dataset.Count, generator);
        return (new Subset(dataset, order[..firstCount]), new Subset(dataset, order[firstCount..]));
    }
}
