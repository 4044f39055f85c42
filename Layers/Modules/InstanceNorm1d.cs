namespace Tensorium.Layers;

/// <summary>
/// Instance normalisation of [N, C, L] input (torch.nn.InstanceNorm1d): each channel of each
/// sample over its own positions. See <see cref="InstanceNorm"/> for the options.
/// </summary>
public sealed class InstanceNorm1d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = false, bool trackRunningStats = false, DType dtype = DType.Float32)
    : InstanceNorm(numFeatures, eps, momentum, affine, trackRunningStats, dtype)
{
    /// <inheritdoc />
    protected override int InputRank => 3;

    /// <inheritdoc />
    protected override string InputForm => "[N, C, L]";
}
