namespace Tensorium.Layers;

/// <summary>
/// Batch normalisation of [N, C] or [N, C, L] input (torch.nn.BatchNorm1d): per channel over
/// the batch (and length) dimensions. See <see cref="BatchNorm"/> for training and evaluation.
/// </summary>
public sealed class BatchNorm1d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true, DType dtype = DType.Float32)
    : BatchNorm(numFeatures, eps, momentum, affine, trackRunningStats, dtype)
{
    /// <inheritdoc />
    protected override void CheckRank(Tensor input)
    {
        if (input.Rank is not (2 or 3))
            throw new ArgumentException($"BatchNorm1d: expected input [N, {NumFeatures}] or [N, {NumFeatures}, L], got {Layout.Format(input.Layout.Shape)}.");
    }
}
