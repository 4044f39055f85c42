namespace Tensorium.Kernels.Ops;

/// <summary>
/// Sizes of a scaled dot-product attention call over <paramref name="BatchHeads"/> independent
/// heads: Q is [BatchHeads, QueryLength, HeadDim], K is [BatchHeads, KeyLength, HeadDim],
/// V is [BatchHeads, KeyLength, ValueDim] and the output is [BatchHeads, QueryLength, ValueDim],
/// all contiguous.
/// </summary>
/// <param name="BatchHeads">Number of independent (batch, head) pairs.</param>
/// <param name="QueryLength">Number of queries per head (Lq).</param>
/// <param name="KeyLength">Number of keys and values per head (Lk).</param>
/// <param name="HeadDim">Length of a query or key vector (D).</param>
/// <param name="ValueDim">Length of a value vector (Dv), also the output's last dimension.</param>
/// <param name="Scale">Factor applied to Q K^T before the mask, usually 1/sqrt(HeadDim).</param>
/// <param name="Causal">When true query i sees only keys j &lt;= i (PyTorch's is_causal,
/// aligned to the top-left corner when Lq != Lk).</param>
public readonly record struct AttentionGeometry(int BatchHeads, int QueryLength, int KeyLength,
    int HeadDim, int ValueDim, double Scale, bool Causal)
{
    /// <summary>The op name used in error messages.</summary>
    public const string OpName = "scaled_dot_product_attention";

    /// <summary>
    /// The (query, key) pairs one head computes: all Lq·Lk, or with the causal mask (top-left
    /// aligned: query i sees keys 0..i) the triangle, which the kernels skip the rest of (about
    /// half). What the profiler and the benchmarks count FLOPs over.
    /// </summary>
    public double AllowedPairs
    {
        get
        {
            double lq = QueryLength, lk = KeyLength;
            if (!Causal) return lq * lk;
            return lq <= lk ? lq * (lq + 1) / 2 : lk * (lk + 1) / 2 + (lq - lk) * lk;
        }
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the op when a size is negative,
    /// the scale is not finite, or a tensor would exceed the addressable element count.</summary>
    public void Validate()
    {
        if (BatchHeads < 0 || QueryLength < 0 || KeyLength < 0 || HeadDim < 0 || ValueDim < 0)
            throw new ArgumentException($"{OpName}: sizes must be non-negative, got {this}.");
        if (!double.IsFinite(Scale))
            throw new ArgumentException($"{OpName}: scale must be finite, got {Scale}.");
        // Offsets are computed in 64 bits, but an int overflow in a product of the sizes would
        // still mean the caller's buffers cannot exist; catch that early with a clear message.
        long maxDim = Math.Max(Math.Max(HeadDim, ValueDim), 1);
        if ((long)BatchHeads * Math.Max(QueryLength, KeyLength) > long.MaxValue / maxDim)
            throw new ArgumentException($"{OpName}: tensor sizes overflow, got {this}.");
    }
}

