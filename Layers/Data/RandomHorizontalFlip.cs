namespace Tensorium.Data;

/// <summary>
/// Data augmentation as a dataset wrapper (torchvision's <c>RandomHorizontalFlip(p)</c>): each
/// image of a batch is mirrored left to right with probability <see cref="Probability"/>. Inputs
/// are images [..., H, W] with examples along dim 0 (the last dim is flipped); targets pass
/// through. One coin per example is drawn from the generator, so a seed fixes which images flip.
/// Wrap the training set only. The wrapper does not own the dataset it wraps.
/// </summary>
public sealed class RandomHorizontalFlip : IDataset
{
    private readonly Generator _generator;

    /// <summary>Flips the images of <paramref name="dataset"/> with probability <paramref name="probability"/>.</summary>
    /// <param name="dataset">The images to augment.</param>
    /// <param name="probability">Chance that an image is mirrored (0.5 by default).</param>
    /// <param name="generator">Where the coins come from (default: <see cref="Generator.Default"/>).</param>
    public RandomHorizontalFlip(IDataset dataset, double probability = 0.5, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!(probability >= 0 && probability <= 1))
            throw new ArgumentOutOfRangeException(nameof(probability), $"RandomHorizontalFlip: expected a probability in [0, 1], got {probability}.");
        Dataset = dataset;
        Probability = probability;
        _generator = generator ?? Generator.Default;
    }

    /// <summary>The dataset whose images are flipped.</summary>
    public IDataset Dataset { get; }

    /// <summary>Chance that an image is mirrored.</summary>
    public double Probability { get; }

    /// <inheritdoc />
    public int Count => Dataset.Count;

    /// <inheritdoc />
    public (Tensor Inputs, Tensor Targets) GetBatch(ReadOnlySpan<int> indices)
    {
        var (inputs, targets) = Dataset.GetBatch(indices);
        try
        {
            if (inputs.Rank < 2)
                throw new ArgumentException($"RandomHorizontalFlip: expected images [N, ..., W] with a width to flip, got inputs of shape {Layout.Format(inputs.Layout.Shape)}.");
            bool[] coins = RandomDraws.Coins(_generator, inputs.Size(0), Probability);
            if (!coins.Contains(true)) return (inputs, targets);
            var flipped = Flip(inputs, coins);
            inputs.Dispose();
            return (flipped, targets);
        }
        catch
        {
            inputs.Dispose();
            targets.Dispose();
            throw;
        }
    }

    /// <summary>The batch mirrored along its last dim where <paramref name="coins"/> say so, in two ops: a reversing index_select and a where.</summary>
    private static Tensor Flip(Tensor inputs, bool[] coins)
    {
        int width = inputs.Size(-1);
        var maskShape = new int[inputs.Rank];
        Array.Fill(maskShape, 1);
        maskShape[0] = coins.Length;
        using (Tape.NoGrad())
        {
            // To(device) returns a new handle even on the same device: the host one is disposed too.
            using var hostReversed = Tensor.FromArray(Enumerable.Range(0, width).Select(x => (long)(width - 1 - x)).ToArray());
            using var reversed = hostReversed.To(inputs.Device);
            using var mirrored = inputs.IndexSelect(inputs.Rank - 1, reversed);
            using var hostMask = Tensor.FromArray(coins.Select(c => c ? 1f : 0f).ToArray(), maskShape);
            using var mask = hostMask.To(inputs.Device);
            return mask.Where(mirrored, inputs);
        }
    }
}
