namespace Tensorium.Layers;

/// <summary>What a convolution reads outside its input (torch.nn.Conv2d's padding_mode).</summary>
public enum PaddingMode
{
    /// <summary>Zeros (the default).</summary>
    Zeros,
    /// <summary>The input mirrored at its edge, without repeating the edge: d c b | a b c d | c b a.</summary>
    Reflect,
    /// <summary>The edge value repeated: a a | a b c d | d d.</summary>
    Replicate,
    /// <summary>The input wrapped around: c d | a b c d | a b.</summary>
    Circular,
}
