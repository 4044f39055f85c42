using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// Optional additive attention mask: the value at (batchHead, query, key) is added to the
/// scaled score; -inf removes that key for that query. Element strides let one buffer broadcast:
/// a stride of 0 repeats the mask along that axis, e.g. one [Lq, Lk] mask for all heads
/// (strides 0, 0, Lk, 1), or a key-padding mask [B, 1, 1, Lk] (heads = H, strides Lk, 0, 0, 1).
/// </summary>
/// <typeparam name="T">Element type, the same as the attention inputs.</typeparam>
public readonly unsafe struct AttentionMask<T> where T : unmanaged
{
    /// <summary>A mask whose batch-head index is a single axis with stride
    /// <paramref name="strideBatchHead"/>.</summary>
    public AttentionMask(T* data, long strideBatchHead, long strideQuery, long strideKey)
        : this(data, 1, strideBatchHead, 0, strideQuery, strideKey) { }

    /// <summary>A mask with separate batch and head strides: batchHead = batch * heads + head.
    /// This is what a [B, 1, Lq or 1, Lk] mask shared by all heads of a batch entry needs.</summary>
    public AttentionMask(T* data, int heads, long strideBatch, long strideHead, long strideQuery, long strideKey)
    {
        if (heads < 1)
            throw new ArgumentOutOfRangeException(nameof(heads), heads,
                $"{AttentionGeometry.OpName}: mask head count must be at least 1.");
        Data = data;
        Heads = heads;
        StrideBatch = strideBatch;
        StrideHead = strideHead;
        StrideQuery = strideQuery;
        StrideKey = strideKey;
    }

    /// <summary>No mask.</summary>
    public static AttentionMask<T> None => default;

    /// <summary>Pointer to the element at (0, 0, 0, 0), or null when there is no mask.</summary>
    public T* Data { get; }
    /// <summary>Heads per batch entry, used to split a batch-head index into batch and head.</summary>
    public int Heads { get; }
    /// <summary>Element stride between batch entries.</summary>
    public long StrideBatch { get; }
    /// <summary>Element stride between heads of one batch entry.</summary>
    public long StrideHead { get; }
    /// <summary>Element stride between queries.</summary>
    public long StrideQuery { get; }
    /// <summary>Element stride between keys (1 for a contiguous key axis, 0 to broadcast).</summary>
    public long StrideKey { get; }
    /// <summary>True when a mask buffer was given.</summary>
    public bool IsPresent => Data != null;

    /// <summary>Pointer to the mask value for (batchHead, query, key 0).</summary>
    internal T* Row(int batchHead, int query) =>
        Data + (batchHead / Heads) * StrideBatch + (batchHead % Heads) * StrideHead + query * StrideQuery;
}
