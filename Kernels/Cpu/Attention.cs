using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// Scaled dot-product attention on the CPU in the flash-attention style: scores are computed
/// one (query block x key block) tile at a time and never stored whole, so memory stays
/// O(block^2) per thread whatever the sequence length.
/// </summary>
/// <remarks>
/// <para>Forward: for each query block the key blocks are visited in order keeping, per query,
/// the running maximum m, the running sum l of exp(score - m) and an unnormalised output
/// accumulator; when m grows the accumulator and l are rescaled by exp(m_old - m_new)
/// ("online softmax"). Work items are (batchHead, chunk of query blocks): the key blocks are the
/// outer loop so each transposed copy of a K block serves every query block of the chunk.</para>
/// <para>Fully masked query rows (every key -inf, or no key allowed): the output row is 0 and
/// logSumExp is -inf; backward then treats the row's probabilities as 0, so its gradients are 0.
/// PyTorch's math path would give NaN here; its flash kernels give 0 like this one.</para>
/// <para>Backward (flash-attention 2): probabilities are recomputed per tile as
/// exp(score - logSumExp). Work items are (batchHead, group of key blocks): each owns the dK and
/// dV rows of its key blocks, so those need no synchronisation. dQ of one head receives
/// contributions from every key block; a group adds into its own dQ buffer (the first group
/// straight into gradQ), and the buffers are summed in a fixed order at the end. The grouping
/// depends only on the sizes, so results are bit-identical from run to run and across thread
/// counts.</para>
/// <para>Tile products use a small register-blocked SIMD kernel (4 rows x 2 vectors) whose left
/// operand may have any row and column stride, which gives P^T and dS^T products without
/// transposing tiles; only K (and V in backward) are repacked transposed, once per key block.</para>
/// </remarks>
public static unsafe class Attention
{
    /// <summary>Queries per tile. 64 x 64 tiles of float (16 KiB) keep a few tiles in L1/L2.</summary>
    public const int QueryBlock = 64;
    /// <summary>Keys per tile.</summary>
    public const int KeyBlock = 64;

    /// <summary>
    /// output = softmax(scale * Q K^T + mask) V per head, also writing
    /// logSumExp[bh, i] = log(sum_j exp(score_ij)) (the softmax normaliser) for the backward pass.
    /// </summary>
    /// <param name="g">Sizes, scale and causality.</param>
    /// <param name="q">Queries [BatchHeads, QueryLength, HeadDim].</param>
    /// <param name="k">Keys [BatchHeads, KeyLength, HeadDim].</param>
    /// <param name="v">Values [BatchHeads, KeyLength, ValueDim].</param>
    /// <param name="mask">Optional additive mask (<see cref="AttentionMask{T}.None"/> for none).</param>
    /// <param name="output">Result [BatchHeads, QueryLength, ValueDim], overwritten.</param>
    /// <param name="logSumExp">Row normalisers [BatchHeads, QueryLength], overwritten; -inf for a
    /// fully masked row.</param>
    public static void Forward<T>(in AttentionGeometry g, T* q, T* k, T* v, AttentionMask<T> mask,
        T* output, T* logSumExp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var geo = g; // 'in' parameters cannot be captured by the lambda below
        CheckMask(geo, mask);
        int lq = geo.QueryLength;
        if (geo.BatchHeads == 0 || lq == 0) return;
        int queryBlocks = (lq + QueryBlock - 1) / QueryBlock;
        // A work item handles a chunk of up to 4 query blocks of one head, so each packed K^T block
        // serves several query blocks; chunks shrink when there are too few heads to keep every
        // thread busy. Each query row sees exactly the same arithmetic whatever the chunking, so
        // results do not depend on the thread count.
        int perChunk = Math.Clamp((int)((long)geo.BatchHeads * queryBlocks / (4L * CpuParallel.Threads)), 1, 4);
        int chunks = (queryBlocks + perChunk - 1) / perChunk;
        T scale = T.CreateTruncating(geo.Scale);
        CpuParallel.For(geo.BatchHeads * chunks,
            item => ForwardChunk(geo, scale, item / chunks, item % chunks * perChunk * QueryBlock,
                perChunk * QueryBlock, q, k, v, mask, output, logSumExp),
            2L * Math.Min(lq, perChunk * QueryBlock) * geo.KeyLength * (geo.HeadDim + geo.ValueDim));
    }

    /// <summary>
    /// Forward for queries [qFirst, qFirst + qCount) of head bh: key blocks outside, the query
    /// blocks of the chunk inside, each query block keeping its own online-softmax state.
    /// </summary>
    private static void ForwardChunk<T>(in AttentionGeometry geo, T scale, int bh, int qFirst, int qCount,
        T* q, T* k, T* v, AttentionMask<T> mask, T* output, T* logSumExp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lq = geo.QueryLength, lk = geo.KeyLength, d = geo.HeadDim, dv = geo.ValueDim;
        int rows = Math.Min(qCount, lq - qFirst);
        T* kHead = k + (long)bh * lk * d;
        T* vHead = v + (long)bh * lk * dv;

        // One allocation for all scratch: scores tile, packed K^T, then per query row the output
        // accumulator, the running maximum m and the running sum l.
        long sSize = QueryBlock * KeyBlock, ktSize = (long)d * KeyBlock, accSize = (long)rows * dv;
        T* scratch = Alloc<T>(sSize + ktSize + accSize + 2L * rows);
        try
        {
            T* s = scratch, kt = s + sSize, acc = kt + ktSize, rowMax = acc + accSize, rowSum = rowMax + rows;
            Clear(acc, accSize);
            for (int r = 0; r < rows; r++) { rowMax[r] = T.NegativeInfinity; rowSum[r] = T.Zero; }

            // Causal: the chunk's last query sees keys up to qFirst + rows - 1; later key blocks
            // are skipped entirely.
            int kEnd = geo.Causal ? Math.Min(lk, qFirst + rows) : lk;
            for (int kStart = 0; kStart < kEnd; kStart += KeyBlock)
            {
                int bk = Math.Min(KeyBlock, kEnd - kStart);
                Transpose(kHead + (long)kStart * d, bk, d, d, kt, KeyBlock);
                for (int r0 = 0; r0 < rows; r0 += QueryBlock)
                {
                    int qStart = qFirst + r0, bq = Math.Min(QueryBlock, rows - r0);
                    if (geo.Causal && kStart > qStart + bq - 1) break; // block entirely above the diagonal
                    MatMul(bq, bk, d, q + ((long)bh * lq + qStart) * d, d, 1, kt, KeyBlock, s, KeyBlock, accumulate: false);
                    for (int r = 0; r < bq; r++)
                        OnlineSoftmaxRow(s + r * KeyBlock, bk, AllowedKeys(geo.Causal, qStart + r, kStart, bk),
                            scale, mask, bh, qStart + r, kStart, acc + (long)(r0 + r) * dv, dv,
                            ref rowMax[r0 + r], ref rowSum[r0 + r]);
                    MatMul(bq, dv, bk, s, KeyBlock, 1, vHead + (long)kStart * dv, dv, acc + (long)r0 * dv, dv, accumulate: true);
                }
            }

            T* oRows = output + ((long)bh * lq + qFirst) * dv;
            T* lseRows = logSumExp + (long)bh * lq + qFirst;
            for (int r = 0; r < rows; r++)
            {
                var oRow = new Span<T>(oRows + (long)r * dv, dv);
                if (rowSum[r] == T.Zero)
                {
                    oRow.Clear(); // fully masked row: defined as 0 (see remarks)
                    lseRows[r] = T.NegativeInfinity;
                    continue;
                }
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(acc + (long)r * dv, dv), T.One / rowSum[r], oRow);
                lseRows[r] = rowMax[r] + T.Log(rowSum[r]);
            }
        }
        finally { NativeMemory.AlignedFree(scratch); }
    }

    /// <summary>
    /// One query row of one tile in the online softmax: turns the row's raw scores into
    /// unnormalised probabilities exp(logit - m) (zero beyond <paramref name="limit"/>), updates
    /// the running maximum m and sum l, and rescales the row's output accumulator when m grows.
    /// </summary>
    private static void OnlineSoftmaxRow<T>(T* sRow, int bk, int limit, T scale, in AttentionMask<T> mask,
        int bh, int query, int kStart, T* accRow, int dv, ref T m, ref T l)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T blockMax = limit > 0 ? ScaleMaskMax(sRow, limit, scale, mask, bh, query, kStart) : T.NegativeInfinity;
        T mOld = m, mNew = MaxFast(mOld, blockMax);
        if (T.IsNegativeInfinity(mNew))
        {
            // Nothing visible yet for this query: contributes nothing.
            new Span<T>(sRow, bk).Clear();
            return;
        }
        T blockSum = Softmax.ExpShiftSum(sRow, sRow, limit, mNew);
        new Span<T>(sRow + limit, bk - limit).Clear();
        if (mNew != mOld && !T.IsNegativeInfinity(mOld))
        {
            // The maximum grew: rescale what was accumulated under the old one (when the old one
            // was -inf, nothing was accumulated yet).
            T alpha = T.Exp(mOld - mNew);
            l *= alpha;
            var acc = new Span<T>(accRow, dv);
            TensorPrimitives.Multiply(acc, alpha, acc);
        }
        l += blockSum;
        m = mNew;
    }

    /// <summary>
    /// Gradients of <see cref="Forward{T}"/>. Needs the forward's output and logSumExp; writes
    /// (overwrites) gradQ [BH, Lq, D], gradK [BH, Lk, D] and gradV [BH, Lk, Dv].
    /// </summary>
    /// <param name="g">Sizes, scale and causality, as given to the forward.</param>
    /// <param name="q">Queries.</param>
    /// <param name="k">Keys.</param>
    /// <param name="v">Values.</param>
    /// <param name="mask">The mask given to the forward.</param>
    /// <param name="output">The forward's output.</param>
    /// <param name="logSumExp">The forward's row normalisers.</param>
    /// <param name="gradOutput">Gradient of the loss with respect to the output.</param>
    /// <param name="gradQ">Receives the gradient with respect to Q.</param>
    /// <param name="gradK">Receives the gradient with respect to K.</param>
    /// <param name="gradV">Receives the gradient with respect to V.</param>
    public static void Backward<T>(in AttentionGeometry g, T* q, T* k, T* v, AttentionMask<T> mask,
        T* output, T* logSumExp, T* gradOutput, T* gradQ, T* gradK, T* gradV)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var geo = g;
        CheckMask(geo, mask);
        int bhCount = geo.BatchHeads, lq = geo.QueryLength, lk = geo.KeyLength, d = geo.HeadDim, dv = geo.ValueDim;
        if (bhCount == 0) return;
        if (lq == 0)
        {
            // No queries: nothing flows back to K or V.
            Clear(gradK, (long)bhCount * lk * d);
            Clear(gradV, (long)bhCount * lk * dv);
            return;
        }
        T scale = T.CreateTruncating(geo.Scale);
        int keyBlocks = (lk + KeyBlock - 1) / KeyBlock;
        int groups = KeyGroups(bhCount, lq, d, keyBlocks, sizeof(T));
        long headQ = (long)lq * d;
        // dQ buffers for groups 1..groups-1 of every head; group 0 adds straight into gradQ.
        T* partialQ = groups > 1 ? Alloc<T>((long)bhCount * (groups - 1) * headQ) : null;
        try
        {
            CpuParallel.For(bhCount * groups, item =>
            {
                int bh = item / groups, group = item % groups;
                T* dq = group == 0 ? gradQ + bh * headQ : partialQ + ((long)bh * (groups - 1) + group - 1) * headQ;
                Clear(dq, headQ);
                BackwardKeyBlocks(geo, scale, bh, group, groups, q, k, v, mask, output, logSumExp, gradOutput, dq, gradK, gradV);
            }, 5L * lq * lk * (d + dv) / groups);

            if (groups > 1)
            {
                // Fixed-order reduction: group 1, then 2, ... so the sum never depends on timing.
                int queryBlocks = (lq + QueryBlock - 1) / QueryBlock;
                CpuParallel.For(bhCount * queryBlocks, item =>
                {
                    int bh = item / queryBlocks;
                    long start = (long)(item % queryBlocks) * QueryBlock * d;
                    int len = (int)(Math.Min(headQ, start + (long)QueryBlock * d) - start);
                    var dst = new Span<T>(gradQ + bh * headQ + start, len);
                    for (int grp = 1; grp < groups; grp++)
                        TensorPrimitives.Add(dst, new ReadOnlySpan<T>(partialQ + ((long)bh * (groups - 1) + grp - 1) * headQ + start, len), dst);
                }, (long)QueryBlock * d * groups);
            }
        }
        finally
        {
            if (partialQ != null) NativeMemory.AlignedFree(partialQ);
        }
    }

    /// <summary>
    /// Backward for one head and one group of key blocks (blocks group, group + groups, ...):
    /// overwrites their dK and dV rows and adds their contribution to <paramref name="dq"/>.
    /// Interleaving the blocks of a group balances causal work, where early keys see more queries.
    /// </summary>
    private static void BackwardKeyBlocks<T>(in AttentionGeometry geo, T scale, int bh, int group, int groups,
        T* q, T* k, T* v, AttentionMask<T> mask, T* output, T* logSumExp, T* gradOutput,
        T* dq, T* gradK, T* gradV)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lq = geo.QueryLength, lk = geo.KeyLength, d = geo.HeadDim, dv = geo.ValueDim;
        T* qHead = q + (long)bh * lq * d, kHead = k + (long)bh * lk * d, vHead = v + (long)bh * lk * dv;
        T* oHead = output + (long)bh * lq * dv, doHead = gradOutput + (long)bh * lq * dv;
        T* lseHead = logSumExp + (long)bh * lq;
        T* dkHead = gradK + (long)bh * lk * d, dvHead = gradV + (long)bh * lk * dv;

        long tile = QueryBlock * KeyBlock, ktSize = (long)d * KeyBlock, vtSize = (long)dv * KeyBlock;
        T* scratch = Alloc<T>(2 * tile + ktSize + vtSize + lq);
        try
        {
            T* p = scratch, ds = p + tile, kt = ds + tile, vt = kt + ktSize, delta = vt + vtSize;
            // delta_i = rowsum(dO_i * O_i) = sum_j P_ij dP_ij, the softmax backward's correction term.
            for (int i = 0; i < lq; i++)
                delta[i] = TensorPrimitives.Dot(new ReadOnlySpan<T>(doHead + (long)i * dv, dv),
                                                new ReadOnlySpan<T>(oHead + (long)i * dv, dv));

            for (int kStart = group * KeyBlock; kStart < lk; kStart += groups * KeyBlock)
            {
                int bk = Math.Min(KeyBlock, lk - kStart);
                T* dkBlock = dkHead + (long)kStart * d, dvBlock = dvHead + (long)kStart * dv;
                new Span<T>(dkBlock, bk * d).Clear();
                new Span<T>(dvBlock, bk * dv).Clear();
                Transpose(kHead + (long)kStart * d, bk, d, d, kt, KeyBlock);
                Transpose(vHead + (long)kStart * dv, bk, dv, dv, vt, KeyBlock);

                // Causal: queries before kStart see none of these keys.
                int firstQuery = geo.Causal ? kStart / QueryBlock * QueryBlock : 0;
                for (int qStart = firstQuery; qStart < lq; qStart += QueryBlock)
                {
                    int bq = Math.Min(QueryBlock, lq - qStart);
                    T* qBlock = qHead + (long)qStart * d, doBlock = doHead + (long)qStart * dv;

                    // P = exp(scale * Q K^T + mask - lse), recomputed instead of stored.
                    MatMul(bq, bk, d, qBlock, d, 1, kt, KeyBlock, p, KeyBlock, accumulate: false);
                    for (int r = 0; r < bq; r++)
                    {
                        T* pRow = p + r * KeyBlock;
                        T lse = lseHead[qStart + r];
                        int limit = AllowedKeys(geo.Causal, qStart + r, kStart, bk);
                        if (limit <= 0 || T.IsNegativeInfinity(lse)) { new Span<T>(pRow, bk).Clear(); continue; }
                        ScaleMaskMax(pRow, limit, scale, mask, bh, qStart + r, kStart);
                        Softmax.ExpShiftSum(pRow, pRow, limit, lse);
                        new Span<T>(pRow + limit, bk - limit).Clear();
                    }

                    // dV += P^T dO  (P^T read through strides: row stride 1, column stride KeyBlock)
                    MatMul(bk, dv, bq, p, 1, KeyBlock, doBlock, dv, dvBlock, dv, accumulate: true);
                    // dP = dO V^T
                    MatMul(bq, bk, dv, doBlock, dv, 1, vt, KeyBlock, ds, KeyBlock, accumulate: false);
                    // dS = scale * P * (dP - delta); the scale belongs to both dQ and dK.
                    for (int r = 0; r < bq; r++)
                        SoftmaxGradRow(p + r * KeyBlock, ds + r * KeyBlock, bk, delta[qStart + r], scale);
                    // dQ += dS K ; dK += dS^T Q
                    MatMul(bq, d, bk, ds, KeyBlock, 1, kHead + (long)kStart * d, d, dq + (long)qStart * d, d, accumulate: true);
                    MatMul(bk, d, bq, ds, 1, KeyBlock, qBlock, d, dkBlock, d, accumulate: true);
                }
            }
        }
        finally { NativeMemory.AlignedFree(scratch); }
    }

    /// <summary>
    /// The one precondition the op cannot guarantee for direct callers of the kernel: a mask's head
    /// count must divide BatchHeads. The geometry itself arrives validated by the op.
    /// </summary>
    private static void CheckMask<T>(in AttentionGeometry g, in AttentionMask<T> mask) where T : unmanaged
    {
        if (mask.IsPresent && g.BatchHeads % mask.Heads != 0)
            throw new ArgumentException(
                $"{AttentionGeometry.OpName}: mask head count {mask.Heads} does not divide BatchHeads {g.BatchHeads}.");
    }

    /// <summary>
    /// How many key-block groups each head is split into for backward: enough work items to keep
    /// many cores busy when there are few heads, capped so the extra dQ buffers stay under 64 MiB.
    /// Depends on sizes only, never on the thread count, so results are reproducible.
    /// </summary>
    private static int KeyGroups(int bhCount, int lq, int d, int keyBlocks, int elementSize)
    {
        int groups = Math.Clamp((64 + bhCount - 1) / bhCount, 1, Math.Max(keyBlocks, 1));
        long perGroup = Math.Max(1L, (long)bhCount * lq * d * elementSize);
        long maxExtra = (64L << 20) / perGroup;
        return (int)Math.Min(groups, 1 + maxExtra);
    }

    /// <summary>Number of keys of the block starting at kStart that query i may see.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int AllowedKeys(bool causal, int query, int kStart, int bk) =>
        causal ? Math.Clamp(query - kStart + 1, 0, bk) : bk;

    /// <summary>Aligned native scratch (at least one element so the pointer is never null).</summary>
    private static T* Alloc<T>(long count) where T : unmanaged =>
        (T*)NativeMemory.AlignedAlloc((nuint)(Math.Max(count, 1) * sizeof(T)), 64);

    /// <summary>Zeroes count elements (spans are limited to int.MaxValue, tensors are not).</summary>
    private static void Clear<T>(T* p, long count) where T : unmanaged
    {
        for (long done = 0; done < count; done += int.MaxValue)
            new Span<T>(p + done, (int)Math.Min(int.MaxValue, count - done)).Clear();
    }

    /// <summary>dst[c * ldd + r] = src[r * lds + c] for a rows x cols block.</summary>
    private static void Transpose<T>(T* src, int rows, int cols, long lds, T* dst, long ldd) where T : unmanaged
    {
        for (int r = 0; r < rows; r++)
        {
            T* s = src + r * lds;
            for (int c = 0; c < cols; c++) dst[c * ldd + r] = s[c];
        }
    }

    /// <summary>
    /// Turns raw scores into masked, scaled logits in place: row[j] = scale * row[j] + mask(i, kStart + j)
    /// for j &lt; n, and returns their maximum. Forward and backward share it so both see exactly
    /// the same logits.
    /// </summary>
    private static T ScaleMaskMax<T>(T* row, int n, T scale, in AttentionMask<T> mask, int bh, int query, int kStart)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* m = null;
        long ms = 0;
        if (mask.IsPresent)
        {
            ms = mask.StrideKey;
            m = mask.Row(bh, query) + kStart * ms;
        }
        int j = 0;
        T max = T.NegativeInfinity;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported && (m == null || ms == 1))
        {
            int w = Vector256<T>.Count;
            var sc = Vector256.Create(scale);
            var mx = Vector256.Create(T.NegativeInfinity);
            for (; j + w <= n; j += w)
            {
                var x = Vector256.Load(row + j) * sc;
                if (m != null) x += Vector256.Load(m + j);
                x.Store(row + j);
                // Native max is one instruction; it may drop a NaN, which is harmless because the
                // NaN itself stays in the row and turns the following exp-sum into NaN.
                mx = Vector256.MaxNative(mx, x);
            }
            var half = Vector128.MaxNative(mx.GetLower(), mx.GetUpper());
            for (int e = 0; e < Vector128<T>.Count; e++) max = MaxFast(max, half.GetElement(e));
        }
        for (; j < n; j++)
        {
            T x = row[j] * scale;
            if (m != null) x += m[j * ms];
            row[j] = x;
            max = MaxFast(max, x);
        }
        return max;
    }

    /// <summary>Plain comparison max (T.Max also orders -0 below +0 and tests for NaN, which a
    /// running maximum of logits does not need).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T MaxFast<T>(T a, T b) where T : IFloatingPointIeee754<T> => a > b ? a : b;

    /// <summary>ds[j] = scale * p[j] * (ds[j] - delta), where ds holds dP on entry.</summary>
    private static void SoftmaxGradRow<T>(T* p, T* ds, int n, T delta, T scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            int w = Vector256<T>.Count;
            var dl = Vector256.Create(delta);
            var sc = Vector256.Create(scale);
            for (; j + w <= n; j += w)
                ((Vector256.Load(ds + j) - dl) * Vector256.Load(p + j) * sc).Store(ds + j);
        }
        for (; j < n; j++) ds[j] = (ds[j] - delta) * p[j] * scale;
    }

    /// <summary>
    /// C (m x n, row stride ldc) = or += A B, where A is m x k with element (r, p) at
    /// a[r * rsA + p * csA] (any strides, so a transposed tile costs nothing) and B is k x n with
    /// contiguous rows of stride ldb. Sized for attention tiles (up to 64 x 64 x head dim), not
    /// for large matrices, which need cache blocking and packing (see Gemm).
    /// </summary>
    private static void MatMul<T>(int m, int n, int k, T* a, long rsA, long csA, T* b, long ldb,
        T* c, long ldc, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            int w = Vector256<T>.Count;
            for (; i + 4 <= m; i += 4)
            {
                T* ai = a + i * rsA, ci = c + i * ldc;
                int j = 0;
                for (; j + 2 * w <= n; j += 2 * w) Kernel4x2(k, ai, rsA, csA, b + j, ldb, ci + j, ldc, accumulate);
                for (; j + w <= n; j += w) Kernel4x1(k, ai, rsA, csA, b + j, ldb, ci + j, ldc, accumulate);
                if (j < n) ScalarMatMul(4, n - j, k, ai, rsA, csA, b + j, ldb, ci + j, ldc, accumulate);
            }
            for (; i < m; i++)
            {
                T* ai = a + i * rsA, ci = c + i * ldc;
                int j = 0;
                for (; j + w <= n; j += w) Kernel1x1(k, ai, csA, b + j, ldb, ci + j, accumulate);
                if (j < n) ScalarMatMul(1, n - j, k, ai, rsA, csA, b + j, ldb, ci + j, ldc, accumulate);
            }
        }
        if (i < m) ScalarMatMul(m - i, n, k, a + i * rsA, rsA, csA, b, ldb, c + i * ldc, ldc, accumulate);
    }

    /// <summary>Plain loops for edges and for types without 256-bit vector support.</summary>
    private static void ScalarMatMul<T>(int m, int n, int k, T* a, long rsA, long csA, T* b, long ldb,
        T* c, long ldc, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < m; r++)
            for (int j = 0; j < n; j++)
            {
                T sum = accumulate ? c[r * ldc + j] : T.Zero;
                for (int p = 0; p < k; p++) sum += a[r * rsA + p * csA] * b[p * ldb + j];
                c[r * ldc + j] = sum;
            }
    }

    /// <summary>
    /// The inner kernel: a 4 x (2 vectors) block of C kept in 8 registers while k rank-1 updates
    /// stream through (per step: 2 vector loads of B, 4 broadcasts of A, 8 FMAs).
    /// </summary>
    private static void Kernel4x2<T>(int k, T* a, long rsA, long csA, T* b, long ldb, T* c, long ldc, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        T* c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        Vector256<T> c00, c01, c10, c11, c20, c21, c30, c31;
        if (accumulate)
        {
            c00 = Vector256.Load(c); c01 = Vector256.Load(c + w);
            c10 = Vector256.Load(c1); c11 = Vector256.Load(c1 + w);
            c20 = Vector256.Load(c2); c21 = Vector256.Load(c2 + w);
            c30 = Vector256.Load(c3); c31 = Vector256.Load(c3 + w);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector256<T>.Zero;
        }
        long r2 = 2 * rsA, r3 = 3 * rsA;
        for (int p = 0; p < k; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + w);
            var x = Vector256.Create(a[0]);
            c00 = Fused.MulAdd(x, b0, c00); c01 = Fused.MulAdd(x, b1, c01);
            x = Vector256.Create(a[rsA]);
            c10 = Fused.MulAdd(x, b0, c10); c11 = Fused.MulAdd(x, b1, c11);
            x = Vector256.Create(a[r2]);
            c20 = Fused.MulAdd(x, b0, c20); c21 = Fused.MulAdd(x, b1, c21);
            x = Vector256.Create(a[r3]);
            c30 = Fused.MulAdd(x, b0, c30); c31 = Fused.MulAdd(x, b1, c31);
            a += csA;
            b += ldb;
        }
        c00.Store(c); c01.Store(c + w);
        c10.Store(c1); c11.Store(c1 + w);
        c20.Store(c2); c21.Store(c2 + w);
        c30.Store(c3); c31.Store(c3 + w);
    }

    /// <summary>4 rows x 1 vector: the column tail of <see cref="Kernel4x2{T}"/>.</summary>
    private static void Kernel4x1<T>(int k, T* a, long rsA, long csA, T* b, long ldb, T* c, long ldc, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        Vector256<T> c0v, c1v, c2v, c3v;
        if (accumulate)
        {
            c0v = Vector256.Load(c); c1v = Vector256.Load(c1); c2v = Vector256.Load(c2); c3v = Vector256.Load(c3);
        }
        else c0v = c1v = c2v = c3v = Vector256<T>.Zero;
        long r2 = 2 * rsA, r3 = 3 * rsA;
        for (int p = 0; p < k; p++)
        {
            var b0 = Vector256.Load(b);
            c0v = Fused.MulAdd(Vector256.Create(a[0]), b0, c0v);
            c1v = Fused.MulAdd(Vector256.Create(a[rsA]), b0, c1v);
            c2v = Fused.MulAdd(Vector256.Create(a[r2]), b0, c2v);
            c3v = Fused.MulAdd(Vector256.Create(a[r3]), b0, c3v);
            a += csA;
            b += ldb;
        }
        c0v.Store(c); c1v.Store(c1); c2v.Store(c2); c3v.Store(c3);
    }

    /// <summary>1 row x 1 vector: the row tail (fewer than 4 rows left).</summary>
    private static void Kernel1x1<T>(int k, T* a, long csA, T* b, long ldb, T* c, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector256<T> acc = accumulate ? Vector256.Load(c) : Vector256<T>.Zero;
        for (int p = 0; p < k; p++)
        {
            acc = Fused.MulAdd(Vector256.Create(*a), Vector256.Load(b), acc);
            a += csA;
            b += ldb;
        }
        acc.Store(c);
    }
}
