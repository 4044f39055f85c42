namespace Tensorium.Layers;

/// <summary>
/// Layer normalisation (torch.nn.LayerNorm): each sample is normalised over its last
/// dimensions (<see cref="NormalizedShape"/>) with the biased variance, then scaled by
/// <c>weight</c> (init 1) and shifted by <c>bias</c> (init 0) elementwise. Unlike BatchNorm it
/// behaves the same in training and evaluation.
/// </summary>
public sealed class LayerNorm : Module
{
    private Tensor? _weight, _bias;

    /// <summary>Normalises over the last dimension, of size <paramref name="normalizedShape"/>.</summary>
    public LayerNorm(int normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true, DType dtype = DType.Float32)
        : this([normalizedShape], eps, elementwiseAffine, bias, dtype) { }

    /// <summary>Normalises over the last <c>normalizedShape.Length</c> dimensions, which must equal <paramref name="normalizedShape"/>.</summary>
    public LayerNorm(int[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true, DType dtype = DType.Float32)
    {
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new ArgumentException($"LayerNorm: normalizedShape must be non-empty with positive sizes, got {Layout.Format(normalizedShape)}.");
        if (!(eps >= 0)) throw new ArgumentException($"LayerNorm: eps must be non-negative, got {eps}.");
        if (!dtype.IsFloating()) throw new ArgumentException($"LayerNorm: expected a floating dtype, got {dtype.Name()}.");
        NormalizedShape = (int[])normalizedShape.Clone();
        Eps = eps;
        if (elementwiseAffine)
        {
            _weight = RegisterParameter("weight", Tensor.Ones(NormalizedShape, dtype));
            if (bias) _bias = RegisterParameter("bias", Tensor.Zeros(NormalizedShape, dtype));
        }
    }

    /// <summary>Sizes of the trailing dimensions that are normalised together.</summary>
    public int[] NormalizedShape { get; }
    /// <summary>Added to the variance for numerical stability.</summary>
    public double Eps { get; }
    /// <summary>Elementwise scale with shape <see cref="NormalizedShape"/>, or null.</summary>
    public Tensor? Weight => _weight;
    /// <summary>Elementwise shift with shape <see cref="NormalizedShape"/>, or null.</summary>
    public Tensor? Bias => _bias;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        int k = NormalizedShape.Length;
        if (input.Rank < k || !input.Layout.Shape[^k..].SequenceEqual(NormalizedShape))
            throw new ArgumentException($"LayerNorm: expected input [..., {string.Join(", ", NormalizedShape)}], got {Layout.Format(input.Layout.Shape)}.");
        if (!input.DType.IsFloating())
            throw new ArgumentException($"LayerNorm: expected a floating input, got {input.DType.Name()}.");
        // One fused op each way (LayerNormOp), not the eight elementwise and reduction ops it composes.
        return input.LayerNorm(NormalizedShape, _weight, _bias, Eps);
    }
}
