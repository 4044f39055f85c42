namespace Tensorium.Data;

/// <summary>
/// Data augmentation as a dataset wrapper (torchvision's <c>RandomCrop(size, padding)</c> with
/// the crop as large as the image): each image of a batch is padded with
/// <see cref="Padding"/> zeros on every side and a window of its original size is cut at a
/// random place, so the image moves by up to <see cref="Padding"/> pixels in each direction with
/// zeros coming in at the edges. Inputs are images [N, C, H, W] (or [N, H, W]); targets pass
/// through. Offsets are drawn from the generator, one per example and axis, so a seed fixes them.
/// Wrap the training set only, and put <see cref="Normalize"/> outside (after) it, so that the
/// zeros are black pixels. The wrapper does not own the dataset it wraps.
/// </summary>
public sealed class RandomCrop : IDataset
{
    private readonly Generator _generator;

    /// <summary>Crops the images of <paramref name="dataset"/> after padding them by <paramref name="padding"/> zeros.</summary>
    /// <param name="dataset">The images to augment.</param>
    /// <param name="padding">Zeros added on each side before cropping (4 for CIFAR-10's usual recipe).</param>
    /// <param name="generator">Where the offsets come from (default: <see cref="Generator.Default"/>).</param>
    public RandomCrop(IDataset dataset, int padding, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), $"RandomCrop: expected a padding of 0 or more pixels, got {padding}.");
        Dataset = dataset;
        Padding = padding;
        _generator = generator ?? Generator.Default;
    }

    /// <summary>The dataset whose images are cropped.</summary>
    public IDataset Dataset { get; }

    /// <summary>Zeros added on each side before cropping: the largest shift.</summary>
    public int Padding { get; }

    /// <inheritdoc />
    public int Count => Dataset.Count;

    /// <inheritdoc />
    public (Tensor Inputs, Tensor Targets) GetBatch(ReadOnlySpan<int> indices)
    {
        var (inputs, targets) = Dataset.GetBatch(indices);
        try
        {
            if (inputs.Rank < 3)
                throw new ArgumentException($"RandomCrop: expected images [N, C, H, W] or [N, H, W], got inputs of shape {Layout.Format(inputs.Layout.Shape)}.");
            if (Padding == 0) return (inputs, targets);
            var cropped = Crop(inputs);
            inputs.Dispose();
            return (cropped, targets);
        }
        catch
        {
            inputs.Dispose();
            targets.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Each image shifted by its own (dy, dx) in -Padding..Padding, into a batch of zeros: only
    /// the part that stays inside the frame is copied, the rest stays zero (the padding).
    /// </summary>
    private Tensor Crop(Tensor inputs)
    {
        int n = inputs.Size(0), h = inputs.Size(-2), w = inputs.Size(-1), rank = inputs.Rank;
        int[] offsets = RandomDraws.Below(_generator, 2 * n, 2 * Padding + 1);
        var output = Tensor.Zeros(inputs.Shape, inputs.DType, inputs.Device);
        try
        {
            using (Tape.NoGrad())
                for (int i = 0; i < n; i++)
                {
                    // Output pixel (y, x) shows input pixel (y + dy, x + dx).
                    int dy = offsets[2 * i] - Padding, dx = offsets[2 * i + 1] - Padding;
                    int rows = h - Math.Abs(dy), columns = w - Math.Abs(dx);
                    if (rows <= 0 || columns <= 0) continue;   // shifted out of the frame: all padding
                    using var source = Window(inputs, i, Math.Max(dy, 0), rows, Math.Max(dx, 0), columns, rank);
                    using var target = Window(output, i, Math.Max(-dy, 0), rows, Math.Max(-dx, 0), columns, rank);
                    target.CopyFrom(source);
                }
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>A view of example <paramref name="i"/>, rows top..top+rows-1 and columns left..left+columns-1.</summary>
    private static Tensor Window(Tensor images, int i, int top, int rows, int left, int columns, int rank)
    {
        using var example = images.Narrow(0, i, 1);
        using var band = example.Narrow(rank - 2, top, rows);
        return band.Narrow(rank - 1, left, columns);
    }
}
