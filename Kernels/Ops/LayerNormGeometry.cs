namespace Tensorium.Kernels.Ops;

/// <summary>
/// Sizes of a layer normalisation call: a contiguous [<paramref name="Rows"/>, <paramref name="Cols"/>]
/// input, each row normalised over its <paramref name="Cols"/> elements (the flattened normalised
/// shape) with the biased variance, then scaled and shifted by optional [Cols] weight and bias.
/// </summary>
/// <param name="Rows">Number of rows normalised independently (the product of the leading dims).</param>
/// <param name="Cols">Elements normalised together (the product of the normalised shape).</param>
/// <param name="Eps">Added to the variance before its inverse square root.</param>
public readonly record struct LayerNormGeometry(int Rows, int Cols, double Eps)
{
    /// <summary>The op name used in error messages.</summary>
    public const string OpName = "layer_norm";

    /// <summary>Throws an <see cref="ArgumentException"/> naming the op when a size is negative or eps is negative or not finite.</summary>
    public void Validate()
    {
        if (Rows < 0 || Cols < 0)
            throw new ArgumentException($"{OpName}: sizes must be non-negative, got rows={Rows}, cols={Cols}.");
        if (!(Eps >= 0) || double.IsInfinity(Eps))
            throw new ArgumentException($"{OpName}: eps must be finite and non-negative, got {Eps}.");
    }
}
