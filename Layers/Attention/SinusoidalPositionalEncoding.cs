namespace Tensorium.Layers;

/// <summary>
/// Adds the fixed sine/cosine position code of "Attention Is All You Need" to [..., L, dim]
/// input (position on the second-to-last dimension, so [B, L, dim] and [L, dim] both work):
/// pe[pos, 2i] = sin(pos / 10000^(2i/dim)), pe[pos, 2i+1] = cos(pos / 10000^(2i/dim)).
/// The table is a buffer "pe" [maxLen, dim] (saved, moved with the model, never trained),
/// computed once in float64 so far positions stay accurate in float32. Optional dropout
/// follows, as in the PyTorch tutorial's PositionalEncoding.
/// </summary>
public sealed class SinusoidalPositionalEncoding : Module
{
    private Tensor _pe;
    private readonly Dropout _dropout;

    /// <summary>Creates the table for positions 0..maxLen-1.</summary>
    public SinusoidalPositionalEncoding(int dim, int maxLen = 5000, double dropout = 0, Generator? generator = null, DType dtype = DType.Float32)
    {
        if (dim <= 0 || maxLen <= 0)
            throw new ArgumentException($"SinusoidalPositionalEncoding: dim and maxLen must be positive, got dim {dim}, maxLen {maxLen}.");
        if (!dtype.IsFloating()) throw new ArgumentException($"SinusoidalPositionalEncoding: expected a floating dtype, got {dtype.Name()}.");
        Dim = dim;
        MaxLen = maxLen;
        _pe = RegisterBuffer("pe", Table(dim, maxLen, dtype));
        _dropout = RegisterModule("dropout", new Dropout(dropout, generator));
    }

    /// <summary>Feature size.</summary>
    public int Dim { get; }
    /// <summary>Longest sequence the table covers.</summary>
    public int MaxLen { get; }
    /// <summary>The [maxLen, dim] table.</summary>
    public Tensor Pe => _pe;

    /// <summary>Builds the table with tensor ops: angles = pos * exp(-ln(10000) 2i / dim), then sin and cos interleaved.</summary>
    private static Tensor Table(int dim, int maxLen, DType dtype)
    {
        using var scope = new TensorScope();   // many small temporaries; only the result survives
        int pairs = (dim + 1) / 2;
        var positions = Tensor.Arange(maxLen, DType.Float64).Unsqueeze(1);                 // [L, 1]
        var evenIndex = Tensor.Arange(0, 2 * pairs, 2, DType.Float64);                     // 0, 2, 4, ...
        var frequencies = (evenIndex * (-Math.Log(10000.0) / dim)).Exp();                   // [pairs]
        var angles = positions * frequencies;                                               // [L, pairs]
        var interleaved = Joining.Stack([angles.Sin(), angles.Cos()], 2).Reshape(maxLen, 2 * pairs);
        return scope.Keep(interleaved.Narrow(1, 0, dim).To(dtype));                         // odd dim: drop the last cos
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank < 2 || input.Layout.Shape[^1] != Dim || input.Layout.Shape[^2] > MaxLen)
            throw new ArgumentException($"SinusoidalPositionalEncoding: expected input [..., L, {Dim}] with L <= {MaxLen}, got {Layout.Format(input.Layout.Shape)}.");
        if (input.DType != _pe.DType)
            throw new ArgumentException($"SinusoidalPositionalEncoding: expected input of dtype {_pe.DType.Name()}, got {input.DType.Name()}.");
        using var rows = _pe.Narrow(0, 0, input.Layout.Shape[^2]);
        using var sum = input + rows;
        return _dropout.Forward(sum);
    }
}
