namespace Tensorium.Data;

/// <summary>
/// Input normalisation as a dataset wrapper (torchvision's <c>Normalize(mean, std)</c>): each
/// channel c of the inputs [N, C, ...] becomes (x - mean[c]) / std[c]; one mean and one std
/// apply to every channel. Targets pass through. Deterministic: wrap the training and the
/// validation set alike (outside any random augmentation). The wrapper does not own the dataset
/// it wraps.
/// </summary>
public sealed class Normalize : IDataset
{
    private readonly double[] _mean, _std;

    /// <summary>Normalises the inputs of <paramref name="dataset"/> per channel.</summary>
    /// <param name="dataset">The examples to normalise.</param>
    /// <param name="mean">One mean per channel (dim 1), or one for all.</param>
    /// <param name="std">One standard deviation per channel, or one for all; each positive.</param>
    public Normalize(IDataset dataset, IReadOnlyList<double> mean, IReadOnlyList<double> std)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count)
            throw new ArgumentException($"Normalize: expected as many means as standard deviations (one per channel, or one for all), got {mean.Count} and {std.Count}.");
        if (mean.Any(m => !double.IsFinite(m)))   // a NaN or infinite mean would turn every input into NaN or infinity, silently
            throw new ArgumentOutOfRangeException(nameof(mean), $"Normalize: expected finite means, got [{string.Join(", ", mean)}].");
        if (std.Any(s => !(s > 0) || double.IsInfinity(s)))
            throw new ArgumentOutOfRangeException(nameof(std), $"Normalize: expected positive finite standard deviations, got [{string.Join(", ", std)}].");
        Dataset = dataset;
        _mean = mean.ToArray();
        _std = std.ToArray();
    }

    /// <summary>The dataset whose inputs are normalised.</summary>
    public IDataset Dataset { get; }

    /// <summary>The means subtracted, per channel.</summary>
    public IReadOnlyList<double> Mean => _mean;

    /// <summary>The standard deviations divided by, per channel.</summary>
    public IReadOnlyList<double> Std => _std;

    /// <inheritdoc />
    public int Count => Dataset.Count;

    /// <inheritdoc />
    public (Tensor Inputs, Tensor Targets) GetBatch(ReadOnlySpan<int> indices)
    {
        var (inputs, targets) = Dataset.GetBatch(indices);
        try
        {
            if (!inputs.DType.IsFloating())
                throw new ArgumentException($"Normalize: expected floating-point inputs, got {inputs.DType.Name()}.");
            int channels = _mean.Length;
            if (channels > 1 && (inputs.Rank < 2 || inputs.Size(1) != channels))
                throw new ArgumentException($"Normalize: {channels} means and standard deviations need inputs [N, {channels}, ...], got shape {Layout.Format(inputs.Layout.Shape)}.");
            var normalised = Apply(inputs, channels);
            inputs.Dispose();
            return (normalised, targets);
        }
        catch
        {
            inputs.Dispose();
            targets.Dispose();
            throw;
        }
    }

    /// <summary>(x - mean) / std, the per-channel constants shaped [1, C, 1, ...] to broadcast.</summary>
    private Tensor Apply(Tensor inputs, int channels)
    {
        var shape = new int[Math.Max(inputs.Rank, 1)];
        Array.Fill(shape, 1);
        if (channels > 1) shape[1] = channels;
        using (Tape.NoGrad())
        {
            using var hostMean = Tensor.FromArray(_mean, shape);
            using var hostStd = Tensor.FromArray(_std, shape);
            using var mean = hostMean.To(inputs.Device);
            using var meanTyped = mean.To(inputs.DType);
            using var std = hostStd.To(inputs.Device);
            using var stdTyped = std.To(inputs.DType);
            using var centred = inputs.Sub(meanTyped);
            return centred.Div(stdTyped);
        }
    }
}
