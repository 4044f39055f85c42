namespace Tensorium.Layers;

/// <summary>
/// Root-mean-square normalisation (torch.nn.RMSNorm, Zhang and Sennrich): each sample is divided
/// by the root mean square of its last dimensions (<see cref="NormalizedShape"/>),
/// y = x / sqrt(mean(x²) + eps) · weight, with no centring and no bias.
/// </summary>
public sealed class RmsNorm : Module
{
    private readonly Tensor? _weight;

    /// <summary>Normalises over the last dimension, of size <paramref name="normalizedShape"/>.</summary>
    public RmsNorm(int normalizedShape, double? eps = null, bool elementwiseAffine = true, DType dtype = DType.Float32)
        : this([normalizedShape], eps, elementwiseAffine, dtype) { }

    /// <summary>
    /// Normalises over the last <c>normalizedShape.Length</c> dimensions. Without
    /// <paramref name="eps"/> the input type's machine epsilon is used, as PyTorch's eps=None.
    /// </summary>
    public RmsNorm(int[] normalizedShape, double? eps = null, bool elementwiseAffine = true, DType dtype = DType.Float32)
    {
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new ArgumentException($"RmsNorm: normalizedShape must be non-empty with positive sizes, got {Layout.Format(normalizedShape)}.");
        if (eps is { } e && !(e >= 0)) throw new ArgumentException($"RmsNorm: eps must be non-negative, got {e}.");
        if (!dtype.IsFloating()) throw new ArgumentException($"RmsNorm: expected a floating dtype, got {dtype.Name()}.");
        NormalizedShape = (int[])normalizedShape.Clone();
        Eps = eps;
        if (elementwiseAffine) _weight = RegisterParameter("weight", Tensor.Ones(NormalizedShape, dtype));
    }

    /// <summary>Sizes of the trailing dimensions that are normalised together.</summary>
    public int[] NormalizedShape { get; }
    /// <summary>Added to the mean square, or null for the input type's machine epsilon.</summary>
    public double? Eps { get; }
    /// <summary>Elementwise scale with shape <see cref="NormalizedShape"/>, or null.</summary>
    public Tensor? Weight => _weight;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        int k = NormalizedShape.Length;
        if (input.Rank < k || !input.Layout.Shape[^k..].SequenceEqual(NormalizedShape))
            throw new ArgumentException($"RmsNorm: expected input [..., {string.Join(", ", NormalizedShape)}], got {Layout.Format(input.Layout.Shape)}.");
        if (!input.DType.IsFloating())
            throw new ArgumentException($"RmsNorm: expected a floating input, got {input.DType.Name()}.");
        CheckMatchesState(input, _weight);
        // torch.finfo(dtype).eps: the gap between 1 and the next representable number.
        double eps = Eps ?? (input.DType == DType.Float64 ? Math.BitIncrement(1.0) - 1.0 : MathF.BitIncrement(1f) - 1f);
        var axes = Enumerable.Range(input.Rank - k, k).ToArray();
        using var square = input.Square();
        using var meanSquare = square.Mean(axes, keepDim: true);
        using var shifted = meanSquare + eps;
        using var inverseRms = shifted.Rsqrt();
        if (_weight == null) return input * inverseRms;
        using var normalized = input * inverseRms;
        return normalized * _weight;
    }
}
