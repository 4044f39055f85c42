using System.Numerics;
using System.Numerics.Tensors;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// The elementwise half of one time step of a recurrent layer, fused: after the GEMMs have put
/// the gate pre-activations (x W_ihᵀ + h W_hhᵀ) in a row, one pass per batch row adds the
/// biases, applies the gate activations, and updates the state; backward turns the state
/// gradients into gate gradients in one pass too. Each batch row's few hundred values stay in
/// L1 between the vectorised TensorPrimitives calls, so "one pass" is about memory traffic: the
/// row is read and written once per step, not once per small op as a graph of tensor ops would.
/// </summary>
/// <remarks>
/// Pointers address row 0 of a [Batch, ...] block; strides (in elements) step from one batch
/// row to the next, so the same code reads the hidden state from a contiguous [B, H] h0 or from
/// the time-strided [B, T, H] output sequence. Rows are independent and split across threads.
/// </remarks>
public static unsafe class RecurrentCells
{
    /// <summary>Row <paramref name="row"/> of a strided block as a span of <paramref name="length"/> values.</summary>
    private static Span<T> Row<T>(nint block, int row, long stride, int length) where T : unmanaged =>
        new((T*)block + row * stride, length);

    /// <summary>d *= y (1 - y): the chain rule through a sigmoid whose output is y (tmp is scratch).</summary>
    private static void SigmoidGrad<T>(Span<T> d, ReadOnlySpan<T> y, Span<T> tmp) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Subtract(T.One, y, tmp);
        TensorPrimitives.Multiply(tmp, y, tmp);
        TensorPrimitives.Multiply(d, tmp, d);
    }

    /// <summary>d *= 1 - y²: the chain rule through a tanh whose output is y (tmp is scratch).</summary>
    private static void TanhGrad<T>(Span<T> d, ReadOnlySpan<T> y, Span<T> tmp) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Multiply(y, y, tmp);
        TensorPrimitives.Subtract(T.One, tmp, tmp);
        TensorPrimitives.Multiply(d, tmp, d);
    }

    /// <summary>Adds an optional bias (null: none) to a row.</summary>
    private static void AddBias<T>(Span<T> row, T* bias) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (bias != null) TensorPrimitives.Add(row, new ReadOnlySpan<T>(bias, row.Length), row);
    }

    // ---- Tanh RNN ------------------------------------------------------------------------------

    /// <summary>
    /// h' = tanh(pre + b_ih + b_hh). <paramref name="pre"/> rows hold the H pre-activations
    /// (x W_ihᵀ + h W_hhᵀ); the biases are added there in place, then h' is written to <paramref name="hOut"/>.
    /// </summary>
    public static void TanhForward<T>(int batch, int hidden, T* pre, long preStride, T* bIh, T* bHh, T* hOut, long hStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint p = (nint)pre, bi = (nint)bIh, bh = (nint)bHh, ho = (nint)hOut;
        CpuParallel.ForRows(batch, 20L * hidden, (r0, r1) =>
        {
            for (int b = r0; b < r1; b++)
            {
                var a = Row<T>(p, b, preStride, hidden);
                AddBias(a, (T*)bi);
                AddBias(a, (T*)bh);
                TensorPrimitives.Tanh(a, Row<T>(ho, b, hStride, hidden));
            }
        });
    }

    /// <summary>
    /// Gate gradient of the tanh RNN: dPre = (dhSeq + dhNext) (1 - h'²), written to
    /// <paramref name="dPre"/>. dhNext is the gradient reaching h' from the next step.
    /// </summary>
    public static void TanhBackward<T>(int batch, int hidden, T* h, long hStride, T* dhSeq, long dhSeqStride, T* dhNext, T* dPre, long dPreStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint hp = (nint)h, ds = (nint)dhSeq, dn = (nint)dhNext, dp = (nint)dPre;
        CpuParallel.ForRows(batch, 10L * hidden, (r0, r1) =>
        {
            var tmp = new Span<T>(ThreadScratch.Work<T>(hidden), hidden);
            for (int b = r0; b < r1; b++)
            {
                var d = Row<T>(dp, b, dPreStride, hidden);
                TensorPrimitives.Add(Row<T>(ds, b, dhSeqStride, hidden), Row<T>(dn, b, hidden, hidden), d);
                TanhGrad<T>(d, Row<T>(hp, b, hStride, hidden), tmp);
            }
        });
    }

    // ---- LSTM -----------------------------------------------------------------------------------

    /// <summary>
    /// One LSTM step. <paramref name="gates"/> rows hold the 4H pre-activations in PyTorch's order
    /// i, f, g, o; they are replaced by the activations (sigmoid, sigmoid, tanh, sigmoid), which is
    /// what backward needs. Then c' = f c + i g and h' = o tanh(c').
    /// </summary>
    public static void LstmForward<T>(int batch, int hidden, T* gates, long gatesStride, T* bIh, T* bHh,
        T* cPrev, long cPrevStride, T* hOut, T* cOut, long outStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint gp = (nint)gates, bi = (nint)bIh, bh = (nint)bHh, cp = (nint)cPrev, ho = (nint)hOut, co = (nint)cOut;
        int H = hidden;
        CpuParallel.ForRows(batch, 40L * hidden, (r0, r1) =>
        {
            for (int b = r0; b < r1; b++)
            {
                var g = Row<T>(gp, b, gatesStride, 4 * H);
                AddBias(g, (T*)bi);
                AddBias(g, (T*)bh);
                TensorPrimitives.Sigmoid(g[..(2 * H)], g[..(2 * H)]);          // i, f
                TensorPrimitives.Tanh(g[(2 * H)..(3 * H)], g[(2 * H)..(3 * H)]);  // g
                TensorPrimitives.Sigmoid(g[(3 * H)..], g[(3 * H)..]);           // o
                var c = Row<T>(co, b, outStride, H);
                var h = Row<T>(ho, b, outStride, H);
                TensorPrimitives.Multiply(g[..H], g[(2 * H)..(3 * H)], c);                       // i g
                TensorPrimitives.FusedMultiplyAdd(g[H..(2 * H)], Row<T>(cp, b, cPrevStride, H), c, c); // + f c
                TensorPrimitives.Tanh(c, h);
                TensorPrimitives.Multiply(h, g[(3 * H)..], h);                                    // o tanh(c')
            }
        });
    }

    /// <summary>
    /// One LSTM step backward. In: the cached activations i, f, g, o, the cell states c' (this
    /// step) and c (previous), the output gradients dhSeq/dcSeq of this step from outside, and
    /// dhNext/dcNext flowing back from the next step ([B, H], contiguous). Out: the 4H
    /// pre-activation gradients in <paramref name="dGates"/>, and dcNext overwritten with the
    /// gradient of the previous cell state, dc f. (The previous h's gradient is dGates W_hh, a GEMM.)
    /// </summary>
    public static void LstmBackward<T>(int batch, int hidden, T* gates, long gatesStride, T* c, T* cPrev, long cPrevStride,
        T* dhSeq, T* dcSeq, long seqStride, T* dhNext, T* dcNext, T* dGates, long dGatesStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint gp = (nint)gates, cp = (nint)c, pp = (nint)cPrev, dhs = (nint)dhSeq, dcs = (nint)dcSeq,
             dhn = (nint)dhNext, dcn = (nint)dcNext, dg = (nint)dGates;
        int H = hidden;
        CpuParallel.ForRows(batch, 60L * hidden, (r0, r1) =>
        {
            T* work = ThreadScratch.Work<T>(2L * H);   // this worker's temporaries, reused across steps
            Span<T> a = new(work, H), t = new(work + H, H);
            for (int b = r0; b < r1; b++)
            {
                var g = Row<T>(gp, b, gatesStride, 4 * H);
                var d = Row<T>(dg, b, dGatesStride, 4 * H);
                Span<T> i = g[..H], f = g[H..(2 * H)], gg = g[(2 * H)..(3 * H)], o = g[(3 * H)..];
                Span<T> di = d[..H], df = d[H..(2 * H)], dgg = d[(2 * H)..(3 * H)], dO = d[(3 * H)..];
                var dcRun = Row<T>(dcn, b, H, H);

                TensorPrimitives.Add(Row<T>(dhs, b, seqStride, H), Row<T>(dhn, b, H, H), a);  // a = dh'
                TensorPrimitives.Tanh(Row<T>(cp, b, seqStride, H), t);                         // t = tanh(c')
                TensorPrimitives.Multiply(a, t, dO);                                           // do = dh' tanh(c')
                TensorPrimitives.Multiply(t, t, t);
                TensorPrimitives.Subtract(T.One, t, t);                                        // t = 1 - tanh²(c')
                TensorPrimitives.Multiply(a, o, a);
                TensorPrimitives.Multiply(a, t, a);                                            // dh' o (1 - tanh²)
                TensorPrimitives.Add(a, Row<T>(dcs, b, seqStride, H), a);
                TensorPrimitives.Add(a, dcRun, a);                                             // a = dc', complete
                TensorPrimitives.Multiply(a, f, dcRun);                                        // dc = dc' f (to the previous step)
                TensorPrimitives.Multiply(a, gg, di);                                          // di = dc' g
                TensorPrimitives.Multiply(a, Row<T>(pp, b, cPrevStride, H), df);              // df = dc' c
                TensorPrimitives.Multiply(a, i, dgg);                                          // dg = dc' i
                SigmoidGrad<T>(di, i, t);                                                      // through the activations
                SigmoidGrad<T>(df, f, t);
                TanhGrad<T>(dgg, gg, t);
                SigmoidGrad<T>(dO, o, t);
            }
        });
    }

    // ---- GRU ------------------------------------------------------------------------------------

    /// <summary>
    /// One GRU step. <paramref name="cache"/> rows are [r, z, n, hn] blocks of H: on entry r and z
    /// hold x W_ihᵀ + h W_hhᵀ, n holds x W_inᵀ and hn holds h W_hnᵀ (kept apart because r scales
    /// only the hidden part). On exit they hold the activations r, z, n and hn + b_hn, which is
    /// what backward needs; h' = (1 - z) n + z h = n + z (h - n) goes to <paramref name="hOut"/>.
    /// </summary>
    public static void GruForward<T>(int batch, int hidden, T* cache, long cacheStride, T* bIh, T* bHh,
        T* hPrev, long hPrevStride, T* hOut, long hOutStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint cp = (nint)cache, bi = (nint)bIh, bh = (nint)bHh, hp = (nint)hPrev, ho = (nint)hOut;
        int H = hidden;
        CpuParallel.ForRows(batch, 40L * hidden, (r0, r1) =>
        {
            for (int b = r0; b < r1; b++)
            {
                var row = Row<T>(cp, b, cacheStride, 4 * H);
                Span<T> rz = row[..(2 * H)], r = row[..H], z = row[H..(2 * H)], n = row[(2 * H)..(3 * H)], hn = row[(3 * H)..];
                AddBias(row[..(3 * H)], (T*)bi);                    // b_ir, b_iz, b_in
                AddBias(rz, (T*)bh);                                // b_hr, b_hz
                AddBias(hn, bh == 0 ? null : (T*)bh + 2 * H);       // b_hn stays inside r (...)
                TensorPrimitives.Sigmoid(rz, rz);
                TensorPrimitives.FusedMultiplyAdd(r, hn, n, n);     // x W_inᵀ + b_in + r (h W_hnᵀ + b_hn)
                TensorPrimitives.Tanh(n, n);
                var h = Row<T>(ho, b, hOutStride, H);
                TensorPrimitives.Subtract(Row<T>(hp, b, hPrevStride, H), n, h);
                TensorPrimitives.FusedMultiplyAdd(h, z, n, h);      // n + z (h - n)
            }
        });
    }

    /// <summary>
    /// One GRU step backward. In: the cached r, z, n, hn, the previous hidden state, this step's
    /// output gradient dhSeq and dhNext from the next step. Out: the input-side gate gradients
    /// <paramref name="dGx"/> (d r, d z, d n pre-activations), the hidden-side ones
    /// <paramref name="dGh"/> (equal for r and z; d n times r for the n block), and dhNext
    /// overwritten with the direct part of the previous state's gradient, dh' z (the caller adds dGh W_hh).
    /// </summary>
    public static void GruBackward<T>(int batch, int hidden, T* cache, long cacheStride, T* hPrev, long hPrevStride,
        T* dhSeq, long dhSeqStride, T* dhNext, T* dGx, T* dGh, long dGatesStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint cp = (nint)cache, hp = (nint)hPrev, ds = (nint)dhSeq, dn = (nint)dhNext, gx = (nint)dGx, gh = (nint)dGh;
        int H = hidden;
        CpuParallel.ForRows(batch, 50L * hidden, (r0, r1) =>
        {
            T* work = ThreadScratch.Work<T>(2L * H);   // this worker's temporaries, reused across steps
            Span<T> a = new(work, H), t = new(work + H, H);
            for (int b = r0; b < r1; b++)
            {
                var row = Row<T>(cp, b, cacheStride, 4 * H);
                Span<T> r = row[..H], z = row[H..(2 * H)], n = row[(2 * H)..(3 * H)], hn = row[(3 * H)..];
                var dx = Row<T>(gx, b, dGatesStride, 3 * H);
                var dh = Row<T>(gh, b, dGatesStride, 3 * H);
                Span<T> dr = dx[..H], dz = dx[H..(2 * H)], dnx = dx[(2 * H)..];
                var dRun = Row<T>(dn, b, H, H);

                TensorPrimitives.Add(Row<T>(ds, b, dhSeqStride, H), dRun, a);   // a = dh'
                TensorPrimitives.Subtract(Row<T>(hp, b, hPrevStride, H), n, t);
                TensorPrimitives.Multiply(a, t, dz);                            // dz = dh' (h - n)
                TensorPrimitives.Multiply(a, z, dRun);                          // direct path: dh' z
                TensorPrimitives.Subtract(a, dRun, dnx);                        // dn = dh' (1 - z)
                TanhGrad<T>(dnx, n, t);                                         // through tanh
                TensorPrimitives.Multiply(dnx, hn, dr);                         // dr = dn_pre hn
                SigmoidGrad<T>(dr, r, t);
                SigmoidGrad<T>(dz, z, t);
                dx[..(2 * H)].CopyTo(dh[..(2 * H)]);                            // r, z: same on both sides
                TensorPrimitives.Multiply(dnx, r, dh[(2 * H)..]);               // hidden side of n: scaled by r
            }
        });
    }
}
