namespace Tensorium.Layers;

/// <summary>
/// Adds a trained vector per position (BERT/GPT style) to [..., L, dim] input, position on
/// the second-to-last dimension. The table is the parameter "weight" [maxLen, dim],
/// initialised N(0, 1) like an nn.Embedding(maxLen, dim), which is how PyTorch code usually
/// builds it. Only the rows of positions actually used get a gradient.
/// </summary>
public sealed class LearnedPositionalEncoding : Module
{
    private Tensor _weight;

    /// <summary>Creates the table; <paramref name="generator"/> seeds it.</summary>
    public LearnedPositionalEncoding(int maxLen, int dim, Generator? generator = null, DType dtype = DType.Float32)
    {
        if (dim <= 0 || maxLen <= 0)
            throw new ArgumentException($"LearnedPositionalEncoding: maxLen and dim must be positive, got maxLen {maxLen}, dim {dim}.");
        if (!dtype.IsFloating()) throw new ArgumentException($"LearnedPositionalEncoding: expected a floating dtype, got {dtype.Name()}.");
        MaxLen = maxLen;
        Dim = dim;
        _weight = RegisterParameter("weight", Tensor.Normal([maxLen, dim], 0, 1, generator, dtype));
    }

    /// <summary>Longest sequence the table covers.</summary>
    public int MaxLen { get; }
    /// <summary>Feature size.</summary>
    public int Dim { get; }
    /// <summary>The [maxLen, dim] table.</summary>
    public Tensor Weight => _weight;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank < 2 || input.Layout.Shape[^1] != Dim || input.Layout.Shape[^2] > MaxLen)
            throw new ArgumentException($"LearnedPositionalEncoding: expected input [..., L, {Dim}] with L <= {MaxLen}, got {Layout.Format(input.Layout.Shape)}.");
        if (input.DType != _weight.DType)
            throw new ArgumentException($"LearnedPositionalEncoding: expected input of dtype {_weight.DType.Name()}, got {input.DType.Name()}.");
        using var rows = _weight.Narrow(0, 0, input.Layout.Shape[^2]);
        return input + rows;
    }
}
