namespace Tensorium.Layers;

/// <summary>
/// Mean over the spatial dimensions of NCHW input (Keras GlobalAveragePooling2D, PyTorch
/// AdaptiveAvgPool2d(1) followed by flatten): [N, C, H, W] becomes [N, C], or [N, C, 1, 1]
/// with <see cref="KeepDims"/>.
/// </summary>
public sealed class GlobalAveragePooling2d(bool keepDims = false) : Module
{
    /// <summary>Whether the two spatial dimensions are kept with size 1.</summary>
    public bool KeepDims { get; } = keepDims;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4 || !input.DType.IsFloating())
            throw new ArgumentException($"GlobalAveragePooling2d: expected a floating input [N, C, H, W], got {input.DType.Name()} {Layout.Format(input.Layout.Shape)}.");
        return input.Mean([2, 3], KeepDims);
    }
}
