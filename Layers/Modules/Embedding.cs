namespace Tensorium.Layers;

/// <summary>
/// A lookup table of <see cref="NumEmbeddings"/> vectors of size <see cref="EmbeddingDim"/>
/// (torch.nn.Embedding): an integer index tensor of any shape becomes index.shape + [dim].
/// The weight starts as N(0, 1) like PyTorch. With <see cref="PaddingIdx"/>, that row starts
/// at zero and never receives a gradient, so it stays whatever it is (a "no token" vector).
/// </summary>
public sealed class Embedding : Module
{
    private Tensor _weight;

    /// <summary>Creates the table; <paramref name="generator"/> seeds the initial weights.</summary>
    public Embedding(int numEmbeddings, int embeddingDim, int? paddingIdx = null, Generator? generator = null, DType dtype = DType.Float32)
    {
        if (numEmbeddings <= 0 || embeddingDim <= 0)
            throw new ArgumentException($"Embedding: sizes must be positive, got numEmbeddings {numEmbeddings}, embeddingDim {embeddingDim}.");
        if (paddingIdx is { } p && (p < -numEmbeddings || p >= numEmbeddings))
            throw new ArgumentException($"Embedding: paddingIdx must be in [{-numEmbeddings}, {numEmbeddings - 1}], got {p}.");
        if (!dtype.IsFloating()) throw new ArgumentException($"Embedding: expected a floating dtype, got {dtype.Name()}.");
        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        PaddingIdx = paddingIdx is { } q && q < 0 ? q + numEmbeddings : paddingIdx;   // PyTorch also accepts a negative index
        var weight = Tensor.Normal([numEmbeddings, embeddingDim], 0, 1, generator, dtype);
        if (PaddingIdx is { } pad)
        {
            using var row = weight.Narrow(0, pad, 1);
            using var zero = Tensor.Zeros([1, embeddingDim], dtype);
            row.CopyFrom(zero);
        }
        _weight = RegisterParameter("weight", weight);
    }

    /// <summary>Number of rows (vocabulary size).</summary>
    public int NumEmbeddings { get; }
    /// <summary>Size of each vector.</summary>
    public int EmbeddingDim { get; }
    /// <summary>The row that gets no gradient, or null.</summary>
    public int? PaddingIdx { get; }
    /// <summary>[num, dim] table.</summary>
    public Tensor Weight => _weight;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        if (input.DType.IsFloating())
            throw new ArgumentException($"Embedding: expected an int32 or int64 index tensor, got {input.DType.Name()} {Layout.Format(input.Layout.Shape)}.");
        var rows = _weight.Embedding(input);
        // The padding row only matters for gradients; skip the masking when none are recorded.
        if (PaddingIdx is not { } pad || !Tape.IsRecording || !_weight.RequiresGrad) return rows;

        // Same values, but the gradient only reaches rows picked by non-padding indices:
        // rows * keep + detach(rows) * (1 - keep), with keep = (index != pad) per token.
        using (rows)
        {
            using var isPad = input.Eq(pad);
            using var padMask = isPad.To(_weight.DType);
            using var padColumn = padMask.Unsqueeze(-1);
            using var keepColumn = 1.0 - padColumn;
            using var frozen = rows.Detach();
            using var trained = rows * keepColumn;
            using var held = frozen * padColumn;
            return trained + held;
        }
    }
}
