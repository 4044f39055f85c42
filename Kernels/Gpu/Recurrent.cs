using System.Numerics;
using ILGPU;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// The elementwise half of one time step of a recurrent layer (tanh RNN, LSTM, GRU) as ILGPU
/// kernels, the GPU twin of <c>Kernels/Cpu/RecurrentCells.cs</c>. The host walks the time steps;
/// per step the shared GPU GEMM puts the gate pre-activations (x W_ihᵀ + h W_hhᵀ) in the cache,
/// then one of these kernels adds the biases, applies the gate activations and writes the new
/// state. Backward turns the state gradients of a step into gate gradients the same way, and the
/// GEMM carries them to the previous state and the weights.
/// </summary>
/// <remarks>
/// <para>Every step kernel runs one thread per (batch row b, hidden unit k): thread i = b·H + k
/// reads and writes only column k of each gate block of row b, so threads never share an output
/// and the results are deterministic. Views address row 0 of step t; <see cref="RecurrentStep"/>
/// gives the row strides.</para>
/// <para>The arithmetic follows the CPU's order operation by operation (biases added ih first,
/// then hh; fused multiply-adds where the CPU fuses), so float64 results agree to rounding.</para>
/// <para>Generic over the element type through .NET generic math: ILGPU compiles
/// <c>T.Tanh</c>, <c>T.Exp</c> and <c>T.FusedMultiplyAdd</c> for float and double on its CPU
/// accelerator and for PTX.</para>
/// </remarks>
public static class Recurrent
{
    /// <summary>σ(x) = 1 / (1 + e^-x), as TensorPrimitives.Sigmoid computes it on the CPU.</summary>
    private static T Sigmoid<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));

    /// <summary>The derivative of a sigmoid whose output is y: (1 - y) y.</summary>
    private static T SigmoidGrad<T>(T y) where T : unmanaged, IFloatingPointIeee754<T> => (T.One - y) * y;

    /// <summary>The derivative of a tanh whose output is y: 1 - y².</summary>
    private static T TanhGrad<T>(T y) where T : unmanaged, IFloatingPointIeee754<T> => T.One - y * y;

    /// <summary>Adds bias[j] to x when the bias is present (flag 1), ih before hh as on the CPU.</summary>
    private static T AddBiases<T>(T x, ArrayView<T> biasIh, ArrayView<T> biasHh, int j, RecurrentStep s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (s.HasBiasIh != 0) x += biasIh[j];
        if (s.HasBiasHh != 0) x += biasHh[j];
        return x;
    }

    // ---- Forward steps ---------------------------------------------------------------------------

    /// <summary>
    /// Tanh RNN step: pre = gates + b_ih + b_hh is kept in <paramref name="gates"/> (the cache
    /// backward reads) and h' = tanh(pre) goes to <paramref name="hOut"/>.
    /// </summary>
    /// <param name="i">Thread b·H + k.</param>
    /// <param name="gates">Step t's cache rows: H pre-activations per row (row stride GatesStride).</param>
    /// <param name="biasIh">bias_ih [H], read when HasBiasIh.</param>
    /// <param name="biasHh">bias_hh [H], read when HasBiasHh.</param>
    /// <param name="hOut">Step t of the h sequence (row stride SeqStride).</param>
    /// <param name="s">Sizes and strides.</param>
    public static void TanhForward<T>(Index1D i, ArrayView<T> gates, ArrayView<T> biasIh, ArrayView<T> biasHh,
        ArrayView<T> hOut, RecurrentStep s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int b = i / s.Hidden, k = i % s.Hidden;
        long at = (long)b * s.GatesStride + k;
        T pre = AddBiases(gates[at], biasIh, biasHh, k, s);
        gates[at] = pre;
        hOut[(long)b * s.SeqStride + k] = T.Tanh(pre);
    }

    /// <summary>
    /// LSTM step with PyTorch's gate order i, f, g, o: the four pre-activations of unit k get their
    /// biases and activations (sigmoid, sigmoid, tanh, sigmoid), which replace them in the cache;
    /// then c' = f c + i g and h' = o tanh(c').
    /// </summary>
    /// <param name="i">Thread b·H + k.</param>
    /// <param name="gates">Step t's cache rows: 4H pre-activations per row (row stride GatesStride).</param>
    /// <param name="biasIh">bias_ih [4H], read when HasBiasIh.</param>
    /// <param name="biasHh">bias_hh [4H], read when HasBiasHh.</param>
    /// <param name="cPrev">The previous cell state, c0 or step t-1 of the c sequence (row stride PrevStride).</param>
    /// <param name="hOut">Step t of the h sequence (row stride SeqStride).</param>
    /// <param name="cOut">Step t of the c sequence (row stride SeqStride).</param>
    /// <param name="s">Sizes and strides.</param>
    public static void LstmForward<T>(Index1D i, ArrayView<T> gates, ArrayView<T> biasIh, ArrayView<T> biasHh,
        ArrayView<T> cPrev, ArrayView<T> hOut, ArrayView<T> cOut, RecurrentStep s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int H = s.Hidden, b = i / H, k = i % H;
        long row = (long)b * s.GatesStride;
        T ig = Sigmoid(AddBiases(gates[row + k], biasIh, biasHh, k, s));
        T fg = Sigmoid(AddBiases(gates[row + H + k], biasIh, biasHh, H + k, s));
        T gg = T.Tanh(AddBiases(gates[row + 2 * H + k], biasIh, biasHh, 2 * H + k, s));
        T og = Sigmoid(AddBiases(gates[row + 3 * H + k], biasIh, biasHh, 3 * H + k, s));
        gates[row + k] = ig;
        gates[row + H + k] = fg;
        gates[row + 2 * H + k] = gg;
        gates[row + 3 * H + k] = og;
        long at = (long)b * s.SeqStride + k;
        T c = T.FusedMultiplyAdd(fg, cPrev[(long)b * s.PrevStride + k], ig * gg);   // f c + i g, fused as on the CPU
        cOut[at] = c;
        hOut[at] = T.Tanh(c) * og;
    }

    /// <summary>
    /// GRU step with PyTorch's gate order r, z, n. Cache rows are [r, z, n, hn] blocks of H: on
    /// entry r and z hold x W_ihᵀ + h W_hhᵀ, n holds x W_inᵀ and hn holds h W_hnᵀ (kept apart
    /// because r scales only the hidden part). On exit they hold r, z, n and hn + b_hn, which
    /// backward needs; h' = n + z (h - n).
    /// </summary>
    /// <param name="i">Thread b·H + k.</param>
    /// <param name="gates">Step t's cache rows: 4H values per row (row stride GatesStride).</param>
    /// <param name="biasIh">bias_ih [3H], read when HasBiasIh.</param>
    /// <param name="biasHh">bias_hh [3H], read when HasBiasHh.</param>
    /// <param name="hPrev">The previous hidden state, h0 or step t-1 of the h sequence (row stride PrevStride).</param>
    /// <param name="hOut">Step t of the h sequence (row stride SeqStride).</param>
    /// <param name="s">Sizes and strides.</param>
    public static void GruForward<T>(Index1D i, ArrayView<T> gates, ArrayView<T> biasIh, ArrayView<T> biasHh,
        ArrayView<T> hPrev, ArrayView<T> hOut, RecurrentStep s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int H = s.Hidden, b = i / H, k = i % H;
        long row = (long)b * s.GatesStride;
        T r = Sigmoid(AddBiases(gates[row + k], biasIh, biasHh, k, s));
        T z = Sigmoid(AddBiases(gates[row + H + k], biasIh, biasHh, H + k, s));
        T n = gates[row + 2 * H + k];
        if (s.HasBiasIh != 0) n += biasIh[2 * H + k];
        T hn = gates[row + 3 * H + k];
        if (s.HasBiasHh != 0) hn += biasHh[2 * H + k];   // b_hn stays inside r (...)
        n = T.Tanh(T.FusedMultiplyAdd(r, hn, n));         // x W_inᵀ + b_in + r (h W_hnᵀ + b_hn)
        gates[row + k] = r;
        gates[row + H + k] = z;
        gates[row + 2 * H + k] = n;
        gates[row + 3 * H + k] = hn;
        T h = hPrev[(long)b * s.PrevStride + k];
        hOut[(long)b * s.SeqStride + k] = T.FusedMultiplyAdd(h - n, z, n);   // n + z (h - n)
    }

    // ---- Backward steps --------------------------------------------------------------------------
    // dhRun and dcRun ([B, H], contiguous) hold the gradient flowing back into step t's output from
    // step t + 1 (zero for the last step); the gate gradients of step t have row stride GradStride.

    /// <summary>Tanh RNN step backward: dPre = (dh_t + dhRun) (1 - h_t²).</summary>
    /// <param name="i">Thread b·H + k.</param>
    /// <param name="h">Step t of the h sequence (row stride SeqStride).</param>
    /// <param name="dhSeq">Step t of the output gradient (row stride SeqStride).</param>
    /// <param name="dhRun">The gradient reaching h_t from step t + 1 ([B, H]).</param>
    /// <param name="dGates">Step t's gate gradients (row stride GradStride), written.</param>
    /// <param name="s">Sizes and strides.</param>
    public static void TanhBackward<T>(Index1D i, ArrayView<T> h, ArrayView<T> dhSeq, ArrayView<T> dhRun,
        ArrayView<T> dGates, RecurrentStep s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int b = i / s.Hidden, k = i % s.Hidden;
        long at = (long)b * s.SeqStride + k;
        T d = dhSeq[at] + dhRun[i];
        dGates[(long)b * s.GradStride + k] = d * TanhGrad(h[at]);
    }

    /// <summary>
    /// LSTM step backward: from dh' = dh_t + dhRun and dc' = dh' o (1 - tanh² c') + dc_t + dcRun,
    /// the four gate gradients through their activations; dcRun becomes dc' f, the gradient of the
    /// previous cell state. (The previous h's gradient is dGates W_hh, a GEMM.)
    /// </summary>
    /// <param name="i">Thread b·H + k.</param>
    /// <param name="gates">Step t's cached activations i, f, g, o (row stride GatesStride).</param>
    /// <param name="c">Step t of the c sequence (row stride SeqStride).</param>
    /// <param name="cPrev">The previous cell state, c0 or step t-1 of the c sequence (row stride PrevStride).</param>
    /// <param name="dy">Step t of the output gradient's h part (row stride SeqStride); its c part is StateOffset further.</param>
    /// <param name="dhRun">The gradient reaching h_t from step t + 1 ([B, H]).</param>
    /// <param name="dcRun">The gradient reaching c_t from step t + 1 ([B, H]); overwritten with dc' f.</param>
    /// <param name="dGates">Step t's gate gradients (row stride GradStride), written.</param>
    /// <param name="s">Sizes and strides.</param>
    public static void LstmBackward<T>(Index1D i, ArrayView<T> gates, ArrayView<T> c, ArrayView<T> cPrev,
        ArrayView<T> dy, ArrayView<T> dhRun, ArrayView<T> dcRun, ArrayView<T> dGates, RecurrentStep s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int H = s.Hidden, b = i / H, k = i % H;
        long row = (long)b * s.GatesStride, at = (long)b * s.SeqStride + k;
        T ig = gates[row + k], fg = gates[row + H + k], gg = gates[row + 2 * H + k], og = gates[row + 3 * H + k];
        T a = dy[at] + dhRun[i];                        // dh'
        T tc = T.Tanh(c[at]);
        T dO = a * tc;                                  // do = dh' tanh(c')
        a = a * og * TanhGrad(tc) + dy[s.StateOffset + at];   // the CPU's order: ((dh' o) (1 - tanh²)) + dc_t + dcRun
        a += dcRun[i];                                  // dc', complete
        dcRun[i] = a * fg;                              // to the previous step
        long o = (long)b * s.GradStride;
        dGates[o + k] = a * gg * SigmoidGrad(ig);
        dGates[o + H + k] = a * cPrev[(long)b * s.PrevStride + k] * SigmoidGrad(fg);
        dGates[o + 2 * H + k] = a * ig * TanhGrad(gg);
        dGates[o + 3 * H + k] = dO * SigmoidGrad(og);
    }

    /// <summary>
    /// GRU step backward. From dh' = dh_t + dhRun: the input-side gate gradients
    /// <paramref name="dGx"/> (r, z, n pre-activations) and the hidden-side ones
    /// <paramref name="dGh"/> (equal for r and z; the n block scaled by r); dhRun becomes the
    /// direct part of the previous state's gradient, dh' z (the caller adds dGh W_hh by GEMM).
    /// </summary>
    /// <param name="i">Thread b·H + k.</param>
    /// <param name="gates">Step t's cached r, z, n, hn (row stride GatesStride).</param>
    /// <param name="hPrev">The previous hidden state, h0 or step t-1 of the h sequence (row stride PrevStride).</param>
    /// <param name="dhSeq">Step t of the output gradient (row stride SeqStride).</param>
    /// <param name="dhRun">The gradient reaching h_t from step t + 1 ([B, H]); overwritten with dh' z.</param>
    /// <param name="dGx">Step t's input-side gate gradients (row stride GradStride), written.</param>
    /// <param name="dGh">Step t's hidden-side gate gradients (row stride GradStride), written.</param>
    /// <param name="s">Sizes and strides.</param>
    public static void GruBackward<T>(Index1D i, ArrayView<T> gates, ArrayView<T> hPrev, ArrayView<T> dhSeq,
        ArrayView<T> dhRun, ArrayView<T> dGx, ArrayView<T> dGh, RecurrentStep s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int H = s.Hidden, b = i / H, k = i % H;
        long row = (long)b * s.GatesStride;
        T r = gates[row + k], z = gates[row + H + k], n = gates[row + 2 * H + k], hn = gates[row + 3 * H + k];
        T a = dhSeq[(long)b * s.SeqStride + k] + dhRun[i];    // dh'
        T dz = a * (hPrev[(long)b * s.PrevStride + k] - n);   // dh' (h - n)
        T direct = a * z;
        dhRun[i] = direct;                                    // direct path: dh' z
        T dn = (a - direct) * TanhGrad(n);                    // dh' (1 - z), through tanh
        T dr = dn * hn * SigmoidGrad(r);
        dz *= SigmoidGrad(z);
        long o = (long)b * s.GradStride;
        dGx[o + k] = dr;
        dGx[o + H + k] = dz;
        dGx[o + 2 * H + k] = dn;
        dGh[o + k] = dr;
        dGh[o + H + k] = dz;
        dGh[o + 2 * H + k] = dn * r;
    }

    // ---- Whole-sequence helpers ------------------------------------------------------------------

    /// <summary>
    /// The state each step started from, as one [B·T, H] matrix for the weight gradient
    /// dW_hh = dGᵀ H_prev: row b·T + t is h0 row b when t = 0, else row b·T + t - 1 of the h sequence.
    /// </summary>
    /// <param name="i">Thread (b·T + t)·H + k.</param>
    /// <param name="h0">The initial hidden state [B, H].</param>
    /// <param name="hSeq">The h sequence [B, T, H].</param>
    /// <param name="hPrevSeq">[B, T, H], written.</param>
    /// <param name="steps">T.</param>
    /// <param name="hidden">H.</param>
    public static void PreviousStates<T>(Index1D i, ArrayView<T> h0, ArrayView<T> hSeq, ArrayView<T> hPrevSeq, int steps, int hidden)
        where T : unmanaged
    {
        int row = i / hidden, k = i % hidden, b = row / steps, t = row % steps;
        hPrevSeq[i] = t == 0 ? h0[(long)b * hidden + k] : hSeq[(long)(row - 1) * hidden + k];
    }

    /// <summary>
    /// dst[j] = Σ_r src[r·width + j], summed over the rows in order from zero as the CPU does: a
    /// bias gradient is the column sum of the gate gradients over every (batch, step) row. One
    /// thread per column; no atomics, so the result is deterministic.
    /// </summary>
    /// <param name="j">Column.</param>
    /// <param name="src">[rows, width].</param>
    /// <param name="dst">[width], written.</param>
    /// <param name="rows">Rows to sum.</param>
    /// <param name="width">Columns.</param>
    public static void ColumnSums<T>(Index1D j, ArrayView<T> src, ArrayView<T> dst, int rows, int width)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        for (int r = 0; r < rows; r++) sum += src[(long)r * width + j];
        dst[j] = sum;
    }
}
