using System.Collections;

namespace Tensorium.Data;

/// <summary>
/// Walks a dataset in batches, like torch.utils.data.DataLoader. Each <c>foreach</c> is one
/// epoch: with <c>shuffle</c> a new order is drawn from the generator at the start of every
/// epoch (same seed, same sequence of orders), otherwise examples come in index order. Every
/// batch is a pair of new tensors that the consumer disposes. They are made before the loop
/// body runs, so a scope opened inside the body does not own them; dispose them explicitly:
/// <code>foreach (var (x, y) in loader) using (x) using (y) using (new TensorScope()) { ... }</code>
/// </summary>
public sealed class DataLoader : IEnumerable<(Tensor Inputs, Tensor Targets)>
{
    private readonly Generator? _generator;

    /// <summary>
    /// Creates a loader over <paramref name="dataset"/> giving batches of
    /// <paramref name="batchSize"/> examples; the last batch is smaller when the size does not
    /// divide the dataset, unless <paramref name="dropLast"/> skips it. Shuffling draws from
    /// <paramref name="generator"/> (default: <see cref="Generator.Default"/>).
    /// </summary>
    public DataLoader(IDataset dataset, int batchSize, bool shuffle = false, Generator? generator = null, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"DataLoader: expected a positive batch size, got {batchSize}.");
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        _generator = generator;
    }

    /// <summary>The dataset being walked.</summary>
    public IDataset Dataset { get; }

    /// <summary>Examples per batch (the last batch may have fewer unless <see cref="DropLast"/>).</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch visits the examples in a new random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether an incomplete last batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>Batches per epoch.</summary>
    public int BatchCount => Dataset.Count / BatchSize + (!DropLast && Dataset.Count % BatchSize != 0 ? 1 : 0);   // (Count + BatchSize - 1) / BatchSize overflows for a batch size near int.MaxValue

    /// <summary>One epoch of batches. The order is drawn when the walk starts, not when the loader is made.</summary>
    public IEnumerator<(Tensor Inputs, Tensor Targets)> GetEnumerator()
    {
        int n = Dataset.Count, batches = BatchCount;
        int[] order = Shuffle ? Permutation.Draw(n, _generator ?? Generator.Default) : Enumerable.Range(0, n).ToArray();
        for (int b = 0; b < batches; b++)
        {
            int start = b * BatchSize;
            yield return Dataset.GetBatch(order.AsSpan(start, Math.Min(BatchSize, n - start)));
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
