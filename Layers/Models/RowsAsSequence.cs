using Tensorium.Layers;

namespace Tensorium.Models;

/// <summary>
/// Reads images as sequences: [N, 1, H, W] to [N, H, W], H time steps (rows) of W features
/// (pixels), so a recurrent layer can read an image row by row. No parameters.
/// </summary>
public sealed class RowsAsSequence : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4 || input.Size(1) != 1)
            throw new ArgumentException($"RowsAsSequence: expected [N, 1, H, W] images, got [{string.Join(", ", input.Shape)}].");
        return input.Reshape(input.Size(0), input.Size(2), input.Size(3));
    }
}
