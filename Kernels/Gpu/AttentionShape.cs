namespace Tensorium.Kernels.Gpu;

/// <summary>
/// What the GPU attention kernels (<see cref="Attention"/>) need besides their buffers: the
/// sizes of one (batch, head), the scale already in the element type, causality, and how to read
/// the optional additive mask, a strided [B, H, Lq, Lk] view (the same description as the CPU's
/// <see cref="Cpu.AttentionMask{T}"/>). One small struct, so a launch passes it by value instead
/// of a dozen loose arguments.
/// </summary>
/// <typeparam name="T">The element type of the attention inputs (float or double).</typeparam>
public readonly struct AttentionShape<T> where T : unmanaged
{
    /// <summary>Describes one attention call; <paramref name="maskHeads"/> 0 means no mask.</summary>
    /// <param name="queryLength">Queries per head (Lq).</param>
    /// <param name="keyLength">Keys and values per head (Lk).</param>
    /// <param name="headDim">Length of a query or key vector (D).</param>
    /// <param name="valueDim">Length of a value vector (Dv).</param>
    /// <param name="scale">Factor applied to Q K^T before the mask, rounded to <typeparamref name="T"/> as the CPU rounds it.</param>
    /// <param name="causal">When true query i sees only keys j &lt;= i.</param>
    /// <param name="maskHeads">Heads per batch entry of the mask (splits a batch-head index into batch and head); 0 when there is no mask.</param>
    /// <param name="maskStrideBatch">Mask element stride between batch entries.</param>
    /// <param name="maskStrideHead">Mask element stride between heads.</param>
    /// <param name="maskStrideQuery">Mask element stride between queries.</param>
    /// <param name="maskStrideKey">Mask element stride between keys.</param>
    public AttentionShape(int queryLength, int keyLength, int headDim, int valueDim, T scale, bool causal,
        int maskHeads, long maskStrideBatch, long maskStrideHead, long maskStrideQuery, long maskStrideKey)
    {
        QueryLength = queryLength;
        KeyLength = keyLength;
        HeadDim = headDim;
        ValueDim = valueDim;
        Scale = scale;
        // An int rather than a bool: kernel parameters stay plain integers on every ILGPU backend.
        Causal = causal ? 1 : 0;
        MaskHeads = maskHeads;
        MaskStrideBatch = maskStrideBatch;
        MaskStrideHead = maskStrideHead;
        MaskStrideQuery = maskStrideQuery;
        MaskStrideKey = maskStrideKey;
    }

    /// <summary>Queries per head (Lq).</summary>
    public int QueryLength { get; }
    /// <summary>Keys and values per head (Lk).</summary>
    public int KeyLength { get; }
    /// <summary>Length of a query or key vector (D).</summary>
    public int HeadDim { get; }
    /// <summary>Length of a value vector (Dv), also the output's last dimension.</summary>
    public int ValueDim { get; }
    /// <summary>Factor applied to Q K^T before the mask.</summary>
    public T Scale { get; }
    /// <summary>1 when query i sees only keys j &lt;= i (top-left aligned when Lq != Lk), else 0.</summary>
    public int Causal { get; }
    /// <summary>Heads per batch entry of the mask, or 0 when there is no mask.</summary>
    public int MaskHeads { get; }
    /// <summary>Mask element stride between batch entries.</summary>
    public long MaskStrideBatch { get; }
    /// <summary>Mask element stride between heads of one batch entry.</summary>
    public long MaskStrideHead { get; }
    /// <summary>Mask element stride between queries.</summary>
    public long MaskStrideQuery { get; }
    /// <summary>Mask element stride between keys (1 contiguous, 0 broadcast).</summary>
    public long MaskStrideKey { get; }

    /// <summary>True when a mask is given.</summary>
    public bool HasMask => MaskHeads > 0;

    /// <summary>The mask's element offset for (batch-head <paramref name="bh"/>, query <paramref name="query"/>, key 0).</summary>
    public long MaskRow(int bh, int query) =>
        bh / MaskHeads * MaskStrideBatch + bh % MaskHeads * MaskStrideHead + query * MaskStrideQuery;

    /// <summary>Keys of the tile starting at <paramref name="keyStart"/> (<paramref name="count"/> keys) that query <paramref name="query"/> may see.</summary>
    public int AllowedKeys(int query, int keyStart, int count)
    {
        if (Causal == 0) return count;
        int n = query - keyStart + 1;
        return n < 0 ? 0 : n > count ? count : n;
    }
}
