namespace Tensorium.Layers;

/// <summary>
/// The per-channel scale and shift that ends GroupNorm and InstanceNorm: [C] weight and bias
/// viewed as [1, C, 1, ...] so they broadcast over an [N, C, ...] tensor.
/// </summary>
internal static class ChannelAffine
{
    /// <summary>normalized · weight + bias per channel, taking ownership of <paramref name="normalized"/>; returns it unchanged without a weight.</summary>
    public static Tensor Apply(Tensor normalized, Tensor? weight, Tensor? bias)
    {
        if (weight == null) return normalized;
        using (normalized)
        {
            var channelShape = Enumerable.Range(0, normalized.Rank).Select(d => d == 1 ? weight.Count : 1).ToArray();
            using var scale = weight.Reshape(channelShape);
            if (bias == null) return normalized * scale;
            using var scaled = normalized * scale;
            using var shift = bias.Reshape(channelShape);
            return scaled + shift;
        }
    }
}
