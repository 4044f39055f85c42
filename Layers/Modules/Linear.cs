namespace Tensorium.Layers;

/// <summary>
/// Fully connected layer (Keras Dense): y = x Wᵀ + b with W of shape [out, in], applied to the
/// last dimension of x. Initialised like PyTorch's nn.Linear: U(±1/sqrt(in)) for W and b.
/// </summary>
public sealed class Linear : Module
{
    private Tensor _weight;
    private Tensor? _bias;

    /// <summary>Creates the layer; <paramref name="generator"/> seeds the initial weights.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Generator? generator = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentException($"Linear: feature counts must be positive, got in {inFeatures}, out {outFeatures}.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        _weight = RegisterParameter("weight", Init.TorchDefault([outFeatures, inFeatures], inFeatures, generator));
        _bias = bias ? RegisterParameter("bias", Init.TorchDefault([outFeatures], inFeatures, generator)) : null;
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }
    /// <summary>Output features.</summary>
    public int OutFeatures { get; }
    /// <summary>[out, in] weight.</summary>
    public Tensor Weight => _weight;
    /// <summary>[out] bias, or null.</summary>
    public Tensor? Bias => _bias;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank == 0 || input.Layout.Shape[^1] != InFeatures)
            throw new ArgumentException($"Linear: expected input [..., {InFeatures}], got {Layout.Format(input.Layout.Shape)}.");
        CheckMatchesState(input, _weight);   // named here, not as a matmul mismatch
        using var wt = _weight.T;
        if (_bias == null) return input.MatMul(wt);
        using var product = input.MatMul(wt);
        return product + _bias;
    }

    /// <inheritdoc />
    public override string DisplayName => "Linear";
}
