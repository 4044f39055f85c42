namespace Tensorium.Layers;

/// <summary>
/// Batch normalisation of [N, C, H, W] input (torch.nn.BatchNorm2d): per channel over the
/// batch and both spatial dimensions. See <see cref="BatchNorm"/> for training and evaluation.
/// </summary>
public sealed class BatchNorm2d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true, DType dtype = DType.Float32)
    : BatchNorm(numFeatures, eps, momentum, affine, trackRunningStats, dtype)
{
    /// <inheritdoc />
    protected override void CheckRank(Tensor input)
    {
        if (input.Rank != 4)
            throw new ArgumentException($"BatchNorm2d: expected input [N, {NumFeatures}, H, W], got {Layout.Format(input.Layout.Shape)}.");
    }
}
