using System.Numerics;
using ILGPU;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Scaled dot-product attention in the flash-attention style, with the CPU kernel's semantics
/// (<see cref="Cpu.Attention"/>): logits = scale * q.k + mask; causal lets query i see keys
/// j &lt;= i (top-left aligned when Lq != Lk); a fully masked row gives output 0, logSumExp -inf
/// and zero gradients. q, k, v and output are contiguous [BH, L, D]; logSumExp is [BH, Lq].
/// </summary>
/// <remarks>
/// <para>The Lq x Lk score matrix is never stored: scores live one key (or query) tile at a time
/// in each thread's private memory.</para>
/// <para>Work split: a group of <see cref="Rows"/> threads owns <see cref="Rows"/> consecutive
/// query rows (forward, dQ) or key rows (dK, dV) of one (batch, head), group g taking head
/// g / blocks and block g % blocks; each thread owns one row and keeps that row's vectors and
/// accumulators in private arrays. The other operand streams through shared memory in tiles of
/// <see cref="TileRows{T}"/> rows, loaded by the whole group with consecutive threads reading
/// consecutive elements (the rows are contiguous).</para>
/// <para>Backward follows flash-attention 2: the probabilities are recomputed as
/// exp(logit - logSumExp) from the forward's logSumExp, so backward needs no score matrix either.
/// A first pass (<see cref="RowStatistics{T}"/>) pairs each query row's logSumExp with
/// delta = rowsum(dO * O); then one kernel accumulates dK and dV per key row and another dQ per
/// query row, so no two threads ever add into the same element (no atomics, and results are the
/// same from run to run).</para>
/// </remarks>
public static class Attention
{
    /// <summary>The largest head dim (D and Dv) the private row arrays hold; the backend rejects larger ones.</summary>
    public const int MaxHeadDim = 256;

    /// <summary>Threads (and rows) per group: launch with this group size.</summary>
    public const int Rows = 64;

    /// <summary>The most rows one tile holds (the length of the private score array).</summary>
    public const int MaxTileRows = 64;

    /// <summary>Bytes of each shared tile array: 15 KiB, so a kernel's two tiles (plus 1 KiB of
    /// per-row values in dK/dV) stay within the 32 KiB of shared memory every device offers.</summary>
    public const int TileBytes = 15 * 1024;

    /// <summary>Elements of each shared tile array: 3840 floats or 1920 doubles. ILGPU folds this to
    /// a constant for each element type, as shared allocations need.</summary>
    public static int TileElements<T>() where T : unmanaged => TileBytes / Interop.SizeOf<T>();

    /// <summary>Rows per tile for head dims <paramref name="headDim"/> and <paramref name="valueDim"/>:
    /// as many as fit in <see cref="TileElements{T}"/>, at most <see cref="MaxTileRows"/>.</summary>
    public static int TileRows<T>(int headDim, int valueDim) where T : unmanaged
    {
        int widest = Math.Max(Math.Max(headDim, valueDim), 1);
        return Math.Min(TileElements<T>() / widest, MaxTileRows);
    }

    /// <summary>Groups of <see cref="Rows"/> threads per (batch, head) for <paramref name="rows"/> rows.</summary>
    public static int BlocksPerHead(int rows) => (rows + Rows - 1) / Rows;

    /// <summary>
    /// Forward: output = softmax(logits) v and logSumExp = log(sum(exp(logits))) per query row, by
    /// online softmax over key tiles: per row the running maximum m, the running sum l of
    /// exp(logit - m) and the unnormalised output acc, rescaled by exp(m_old - m_new) when m grows.
    /// Launch BH * <see cref="BlocksPerHead"/>(Lq) groups of <see cref="Rows"/> threads.
    /// </summary>
    /// <param name="s">Sizes, scale, causality and mask description.</param>
    /// <param name="q">Queries [BH, Lq, D].</param>
    /// <param name="k">Keys [BH, Lk, D].</param>
    /// <param name="v">Values [BH, Lk, Dv].</param>
    /// <param name="mask">The additive mask, read through <paramref name="s"/>'s strides (any view when there is none).</param>
    /// <param name="output">Result [BH, Lq, Dv], overwritten.</param>
    /// <param name="logSumExp">Row normalisers [BH, Lq], overwritten; -inf for a fully masked row.</param>
    public static void Forward<T>(AttentionShape<T> s, ArrayView<T> q, ArrayView<T> k, ArrayView<T> v, ArrayView<T> mask,
        ArrayView<T> output, ArrayView<T> logSumExp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var ks = SharedMemory.Allocate<T>(TileElements<T>());
        var vs = SharedMemory.Allocate<T>(TileElements<T>());
        var qRow = LocalMemory.Allocate<T>(MaxHeadDim);
        var acc = LocalMemory.Allocate<T>(MaxHeadDim);
        var scores = LocalMemory.Allocate<T>(MaxTileRows);

        int lq = s.QueryLength, lk = s.KeyLength, d = s.HeadDim, dv = s.ValueDim;
        int blocks = BlocksPerHead(lq);
        int bh = Grid.IdxX / blocks, qFirst = Grid.IdxX % blocks * Rows;
        int i = qFirst + Group.IdxX;
        bool active = i < lq;
        int tile = TileRows<T>(d, dv);
        long kHead = (long)bh * lk * d, vHead = (long)bh * lk * dv, row = (long)bh * lq + i;
        long maskBase = s.HasMask ? s.MaskRow(bh, i) : 0;

        if (active)
            for (int e = 0; e < d; e++) qRow[e] = q[row * d + e];
        for (int e = 0; e < dv; e++) acc[e] = T.Zero;
        T m = T.NegativeInfinity, l = T.Zero;

        // Causal: the group's last query sees keys up to qFirst + Rows - 1; later tiles are skipped.
        int kEnd = s.Causal != 0 ? Math.Min(lk, qFirst + Rows) : lk;
        for (int kStart = 0; kStart < kEnd; kStart += tile)
        {
            int bk = Math.Min(kEnd - kStart, tile);
            Group.Barrier(); // everyone is done with the previous tile
            LoadTile(ks, k, kHead + (long)kStart * d, bk * d);
            LoadTile(vs, v, vHead + (long)kStart * dv, bk * dv);
            Group.Barrier();

            int limit = active ? s.AllowedKeys(i, kStart, bk) : 0;
            T blockMax = T.NegativeInfinity;
            for (int j = 0; j < limit; j++)
            {
                T x = Dot(qRow, ks, j * d, d) * s.Scale;
                if (s.HasMask) x += mask[maskBase + (kStart + j) * s.MaskStrideKey];
                scores[j] = x;
                // A NaN logit fails the comparison but stays in scores and poisons the sum, as on the CPU.
                blockMax = x > blockMax ? x : blockMax;
            }
            T mNew = m > blockMax ? m : blockMax;
            if (T.IsNegativeInfinity(mNew)) continue; // nothing visible yet for this row

            T blockSum = T.Zero;
            for (int j = 0; j < limit; j++)
            {
                T p = T.Exp(scores[j] - mNew);
                scores[j] = p;
                blockSum += p;
            }
            if (mNew != m && !T.IsNegativeInfinity(m))
            {
                // The maximum grew: rescale what was accumulated under the old one.
                T alpha = T.Exp(m - mNew);
                l *= alpha;
                for (int e = 0; e < dv; e++) acc[e] *= alpha;
            }
            l += blockSum;
            m = mNew;
            for (int j = 0; j < limit; j++)
            {
                T p = scores[j];
                for (int e = 0; e < dv; e++) acc[e] += p * vs[j * dv + e];
            }
        }

        if (!active) return;
        if (l == T.Zero)
        {
            for (int e = 0; e < dv; e++) output[row * dv + e] = T.Zero; // fully masked row
            logSumExp[row] = T.NegativeInfinity;
            return;
        }
        T inverse = T.One / l;
        for (int e = 0; e < dv; e++) output[row * dv + e] = acc[e] * inverse;
        logSumExp[row] = m + T.Log(l);
    }

    /// <summary>
    /// Backward, step 1: per query row r (of BH * Lq), stats[2r] = logSumExp[r] and
    /// stats[2r + 1] = delta = rowsum(gradOutput[r] * output[r]), the softmax backward's correction
    /// term. Pairing them halves what the next kernels take as parameters.
    /// </summary>
    /// <param name="r">The query row.</param>
    /// <param name="output">The forward's output [BH * Lq, Dv].</param>
    /// <param name="gradOutput">Gradient of the loss with respect to the output [BH * Lq, Dv].</param>
    /// <param name="logSumExp">The forward's row normalisers [BH * Lq].</param>
    /// <param name="stats">Receives the (logSumExp, delta) pairs [BH * Lq, 2].</param>
    /// <param name="valueDim">Dv.</param>
    public static void RowStatistics<T>(Index1D r, ArrayView<T> output, ArrayView<T> gradOutput, ArrayView<T> logSumExp,
        ArrayView<T> stats, int valueDim)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long row = r.X, start = row * valueDim;
        T sum = T.Zero;
        for (int e = 0; e < valueDim; e++) sum += gradOutput[start + e] * output[start + e];
        stats[2 * row] = logSumExp[row];
        stats[2 * row + 1] = sum;
    }

    /// <summary>
    /// Backward, step 2: each thread owns one KEY row j and accumulates its dK and dV over every
    /// query that sees it, with p = exp(logit - logSumExp): dV_j += p dO_i,
    /// dS = scale * p * (dO_i . v_j - delta_i), dK_j += dS q_i. Query tiles (q, dO and the row
    /// statistics) stream through shared memory. Launch BH * <see cref="BlocksPerHead"/>(Lk)
    /// groups of <see cref="Rows"/> threads.
    /// </summary>
    /// <param name="s">Sizes, scale, causality and mask description, as given to the forward.</param>
    /// <param name="q">Queries [BH, Lq, D].</param>
    /// <param name="k">Keys [BH, Lk, D].</param>
    /// <param name="v">Values [BH, Lk, Dv].</param>
    /// <param name="mask">The forward's mask (any view when there is none).</param>
    /// <param name="stats">(logSumExp, delta) per query row, from <see cref="RowStatistics{T}"/>.</param>
    /// <param name="gradOutput">Gradient with respect to the output [BH, Lq, Dv].</param>
    /// <param name="gradK">Receives dK [BH, Lk, D] (overwritten).</param>
    /// <param name="gradV">Receives dV [BH, Lk, Dv] (overwritten).</param>
    public static void BackwardKeyValue<T>(AttentionShape<T> s, ArrayView<T> q, ArrayView<T> k, ArrayView<T> v, ArrayView<T> mask,
        ArrayView<T> stats, ArrayView<T> gradOutput, ArrayView<T> gradK, ArrayView<T> gradV)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var qs = SharedMemory.Allocate<T>(TileElements<T>());
        var dos = SharedMemory.Allocate<T>(TileElements<T>());
        var tileStats = SharedMemory.Allocate<T>(2 * MaxTileRows);
        var kRow = LocalMemory.Allocate<T>(MaxHeadDim);
        var vRow = LocalMemory.Allocate<T>(MaxHeadDim);
        var dk = LocalMemory.Allocate<T>(MaxHeadDim);
        var dvAcc = LocalMemory.Allocate<T>(MaxHeadDim);

        int lq = s.QueryLength, lk = s.KeyLength, d = s.HeadDim, dv = s.ValueDim;
        int blocks = BlocksPerHead(lk);
        int bh = Grid.IdxX / blocks, kFirst = Grid.IdxX % blocks * Rows;
        int j = kFirst + Group.IdxX;
        bool active = j < lk;
        int tile = TileRows<T>(d, dv);
        long qHead = (long)bh * lq * d, doHead = (long)bh * lq * dv, statsHead = 2L * bh * lq, row = (long)bh * lk + j;
        // The mask's offset for (bh, query 0, this thread's key j).
        long maskKey = s.HasMask ? s.MaskRow(bh, 0) + j * s.MaskStrideKey : 0;

        if (active)
        {
            for (int e = 0; e < d; e++) kRow[e] = k[row * d + e];
            for (int e = 0; e < dv; e++) vRow[e] = v[row * dv + e];
        }
        for (int e = 0; e < d; e++) dk[e] = T.Zero;
        for (int e = 0; e < dv; e++) dvAcc[e] = T.Zero;

        // Causal: queries before the group's first key see none of its keys.
        int qBegin = s.Causal != 0 ? kFirst : 0;
        for (int qStart = qBegin; qStart < lq; qStart += tile)
        {
            int bq = Math.Min(lq - qStart, tile);
            Group.Barrier();
            LoadTile(qs, q, qHead + (long)qStart * d, bq * d);
            LoadTile(dos, gradOutput, doHead + (long)qStart * dv, bq * dv);
            LoadTile(tileStats, stats, statsHead + 2L * qStart, 2 * bq);
            Group.Barrier();
            if (!active) continue;

            for (int r = 0; r < bq; r++)
            {
                int i = qStart + r;
                T lse = tileStats[2 * r];
                if ((s.Causal != 0 && j > i) || T.IsNegativeInfinity(lse)) continue; // p = 0
                T x = Dot(kRow, qs, r * d, d) * s.Scale;
                if (s.HasMask) x += mask[maskKey + i * s.MaskStrideQuery];
                T p = T.Exp(x - lse);
                T dp = T.Zero;
                for (int e = 0; e < dv; e++)
                {
                    T g = dos[r * dv + e];
                    dvAcc[e] += p * g;
                    dp += g * vRow[e];
                }
                T ds = (dp - tileStats[2 * r + 1]) * p * s.Scale;
                for (int e = 0; e < d; e++) dk[e] += ds * qs[r * d + e];
            }
        }

        if (!active) return;
        for (int e = 0; e < d; e++) gradK[row * d + e] = dk[e];
        for (int e = 0; e < dv; e++) gradV[row * dv + e] = dvAcc[e];
    }

    /// <summary>
    /// Backward, step 3: each thread owns one QUERY row i and accumulates dQ_i = sum over the keys
    /// it sees of dS_ij k_j, recomputing p from q, k and logSumExp; key tiles (k, v) stream through
    /// shared memory as in the forward. Launch BH * <see cref="BlocksPerHead"/>(Lq) groups of
    /// <see cref="Rows"/> threads.
    /// </summary>
    /// <param name="s">Sizes, scale, causality and mask description, as given to the forward.</param>
    /// <param name="q">Queries [BH, Lq, D].</param>
    /// <param name="k">Keys [BH, Lk, D].</param>
    /// <param name="v">Values [BH, Lk, Dv].</param>
    /// <param name="mask">The forward's mask (any view when there is none).</param>
    /// <param name="stats">(logSumExp, delta) per query row, from <see cref="RowStatistics{T}"/>.</param>
    /// <param name="gradOutput">Gradient with respect to the output [BH, Lq, Dv].</param>
    /// <param name="gradQ">Receives dQ [BH, Lq, D] (overwritten).</param>
    public static void BackwardQuery<T>(AttentionShape<T> s, ArrayView<T> q, ArrayView<T> k, ArrayView<T> v, ArrayView<T> mask,
        ArrayView<T> stats, ArrayView<T> gradOutput, ArrayView<T> gradQ)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var ks = SharedMemory.Allocate<T>(TileElements<T>());
        var vs = SharedMemory.Allocate<T>(TileElements<T>());
        var qRow = LocalMemory.Allocate<T>(MaxHeadDim);
        var doRow = LocalMemory.Allocate<T>(MaxHeadDim);
        var dq = LocalMemory.Allocate<T>(MaxHeadDim);

        int lq = s.QueryLength, lk = s.KeyLength, d = s.HeadDim, dv = s.ValueDim;
        int blocks = BlocksPerHead(lq);
        int bh = Grid.IdxX / blocks, qFirst = Grid.IdxX % blocks * Rows;
        int i = qFirst + Group.IdxX;
        bool active = i < lq;
        int tile = TileRows<T>(d, dv);
        long kHead = (long)bh * lk * d, vHead = (long)bh * lk * dv, row = (long)bh * lq + i;
        long maskBase = s.HasMask ? s.MaskRow(bh, i) : 0;

        T lse = T.NegativeInfinity, delta = T.Zero;
        if (active)
        {
            for (int e = 0; e < d; e++) qRow[e] = q[row * d + e];
            for (int e = 0; e < dv; e++) doRow[e] = gradOutput[row * dv + e];
            lse = stats[2 * row];
            delta = stats[2 * row + 1];
        }
        for (int e = 0; e < d; e++) dq[e] = T.Zero;

        int kEnd = s.Causal != 0 ? Math.Min(lk, qFirst + Rows) : lk;
        for (int kStart = 0; kStart < kEnd; kStart += tile)
        {
            int bk = Math.Min(kEnd - kStart, tile);
            Group.Barrier();
            LoadTile(ks, k, kHead + (long)kStart * d, bk * d);
            LoadTile(vs, v, vHead + (long)kStart * dv, bk * dv);
            Group.Barrier();

            // A fully masked row (logSumExp -inf) has p = 0 everywhere: its dQ stays 0.
            int limit = active && !T.IsNegativeInfinity(lse) ? s.AllowedKeys(i, kStart, bk) : 0;
            for (int jj = 0; jj < limit; jj++)
            {
                T x = Dot(qRow, ks, jj * d, d) * s.Scale;
                if (s.HasMask) x += mask[maskBase + (kStart + jj) * s.MaskStrideKey];
                T p = T.Exp(x - lse);
                T dp = Dot(doRow, vs, jj * dv, dv);
                T ds = (dp - delta) * p * s.Scale;
                for (int e = 0; e < d; e++) dq[e] += ds * ks[jj * d + e];
            }
        }

        if (!active) return;
        for (int e = 0; e < d; e++) gradQ[row * d + e] = dq[e];
    }

    /// <summary>dst[t] = src[start + t] for t &lt; n, shared among the group's threads (consecutive
    /// threads read consecutive elements, so the reads coalesce).</summary>
    private static void LoadTile<T>(ArrayView<T> dst, ArrayView<T> src, long start, int n) where T : unmanaged
    {
        for (int t = Group.IdxX; t < n; t += Group.DimX) dst[t] = src[start + t];
    }

    /// <summary>sum over e &lt; n of a[e] * b[offset + e]: a private row against a row of a shared tile.</summary>
    private static T Dot<T>(ArrayView<T> a, ArrayView<T> b, int offset, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        for (int e = 0; e < n; e++) sum += a[e] * b[offset + e];
        return sum;
    }
}
