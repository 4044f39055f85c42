namespace Tensorium.Layers;

/// <summary>
/// Group normalisation (torch.nn.GroupNorm): the channels of [N, C, ...] input are split into
/// <see cref="NumGroups"/> groups of consecutive channels, and each sample's group is normalised
/// over its channels and every position with the biased variance; then each channel is scaled by
/// <c>weight</c> (init 1) and shifted by <c>bias</c> (init 0). It does not depend on the batch,
/// so it behaves the same in training and evaluation. One group is LayerNorm over (C, ...);
/// C groups is InstanceNorm.
/// </summary>
public sealed class GroupNorm : Module
{
    private readonly Tensor? _weight, _bias;

    /// <summary>Normalises <paramref name="numChannels"/> channels in <paramref name="numGroups"/> groups (PyTorch's argument order).</summary>
    /// <param name="numGroups">Number of groups G; must divide <paramref name="numChannels"/>.</param>
    /// <param name="numChannels">Channel count C (dimension 1 of the input).</param>
    /// <param name="eps">Added to the variance before the square root.</param>
    /// <param name="affine">Whether to learn the per-channel weight and bias.</param>
    /// <param name="dtype">Floating type of the parameters.</param>
    public GroupNorm(int numGroups, int numChannels, double eps = 1e-5, bool affine = true, DType dtype = DType.Float32)
    {
        if (numGroups <= 0 || numChannels <= 0 || numChannels % numGroups != 0)
            throw new ArgumentException($"GroupNorm: expected a positive number of groups that divides the positive channel count, got {numGroups} groups for {numChannels} channels.");
        if (!(eps >= 0)) throw new ArgumentException($"GroupNorm: eps must be non-negative, got {eps}.");
        if (!dtype.IsFloating()) throw new ArgumentException($"GroupNorm: expected a floating dtype, got {dtype.Name()}.");
        NumGroups = numGroups;
        NumChannels = numChannels;
        Eps = eps;
        if (affine)
        {
            _weight = RegisterParameter("weight", Tensor.Ones([numChannels], dtype));
            _bias = RegisterParameter("bias", Tensor.Zeros([numChannels], dtype));
        }
    }

    /// <summary>Number of channel groups G.</summary>
    public int NumGroups { get; }
    /// <summary>Channel count C.</summary>
    public int NumChannels { get; }
    /// <summary>Added to the variance for numerical stability.</summary>
    public double Eps { get; }
    /// <summary>[C] scale, or null without affine.</summary>
    public Tensor? Weight => _weight;
    /// <summary>[C] shift, or null without affine.</summary>
    public Tensor? Bias => _bias;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank < 2 || input.Layout.Shape[1] != NumChannels)
            throw new ArgumentException($"GroupNorm: expected input [N, {NumChannels}, ...], got {Layout.Format(input.Layout.Shape)}.");
        if (!input.DType.IsFloating())
            throw new ArgumentException($"GroupNorm: expected a floating input, got {input.DType.Name()}.");
        CheckMatchesState(input, _weight);
        int n = input.Layout.Shape[0];
        // [N, G, C/G · positions]: a group's channels are consecutive, so one row holds the group.
        using var grouped = input.Reshape(n, NumGroups, -1);
        using var mean = grouped.Mean(2, keepDim: true);
        using var variance = grouped.Var([2], keepDim: true, correction: 0);
        using var centered = grouped - mean;
        using var shifted = variance + Eps;
        using var inverseStd = shifted.Rsqrt();
        using var normalizedGroups = centered * inverseStd;
        var normalized = normalizedGroups.Reshape(input.Layout.Shape);
        return ChannelAffine.Apply(normalized, _weight, _bias);
    }
}
