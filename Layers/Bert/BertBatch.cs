namespace Tensorium.Bert;

/// <summary>
/// A batch of <see cref="BertEncoding"/>s as the model takes it: input ids, segment ids and
/// attention mask, each [B, L] int64, every sequence padded with [PAD] (segment 0, mask 0) to the
/// longest one. Owns its tensors.
/// </summary>
public sealed class BertBatch : IDisposable
{
    private BertBatch(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask)
    {
        InputIds = inputIds;
        TokenTypeIds = tokenTypeIds;
        AttentionMask = attentionMask;
    }

    /// <summary>Token ids [B, L].</summary>
    public Tensor InputIds { get; }
    /// <summary>Segment ids [B, L].</summary>
    public Tensor TokenTypeIds { get; }
    /// <summary>1 for tokens, 0 for padding, [B, L].</summary>
    public Tensor AttentionMask { get; }

    /// <summary>Stacks <paramref name="encodings"/>, padding them with <paramref name="padId"/> to the longest.</summary>
    public static BertBatch From(IReadOnlyList<BertEncoding> encodings, long padId) =>
        From(encodings, padId, out _);

    /// <summary>
    /// <see cref="From(IReadOnlyList{BertEncoding}, long)"/>, also giving the padded ids as the flat
    /// row-major array of the [B, L] tensor (for masking on the host).
    /// </summary>
    public static BertBatch From(IReadOnlyList<BertEncoding> encodings, long padId, out long[] paddedIds)
    {
        if (encodings.Count == 0) throw new ArgumentException("BertBatch.From: expected at least one sequence, got none.");
        int length = encodings.Max(e => e.Length), rows = encodings.Count;
        var ids = new long[rows * length];
        var types = new long[rows * length];
        var mask = new long[rows * length];
        Array.Fill(ids, padId);
        for (int r = 0; r < rows; r++)
        {
            encodings[r].InputIds.CopyTo(ids, r * length);
            encodings[r].TokenTypeIds.CopyTo(types, r * length);
            encodings[r].AttentionMask.CopyTo(mask, r * length);
        }
        paddedIds = ids;
        Tensor? idTensor = null, typeTensor = null;
        try
        {
            idTensor = Tensor.FromArray(ids, rows, length);
            typeTensor = Tensor.FromArray(types, rows, length);
            return new BertBatch(idTensor, typeTensor, Tensor.FromArray(mask, rows, length));
        }
        catch
        {
            // A later allocation failed: free the tensors already made.
            idTensor?.Dispose();
            typeTensor?.Dispose();
            throw;
        }
    }

    /// <summary>Frees the three tensors.</summary>
    public void Dispose()
    {
        InputIds.Dispose();
        TokenTypeIds.Dispose();
        AttentionMask.Dispose();
    }
}
