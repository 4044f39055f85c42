using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// One recurrent layer over a whole batch-first sequence, forward and backward-through-time.
/// The work is arranged the way cuDNN does it, so most flops are in big GEMMs:
/// <list type="number">
/// <item>the input projection of every step at once: X [B·T, in] W_ihᵀ, one GEMM into the gate cache;</item>
/// <item>per step, one GEMM h W_hhᵀ added into that step's gate rows (beta = 1);</item>
/// <item>per step, one fused elementwise pass (<see cref="RecurrentCells"/>).</item>
/// </list>
/// Backward walks the steps newest first with the fused cell backward and one GEMM per step for
/// the previous hidden state's gradient, then does the weight and input gradients for all steps
/// at once: dX = dG W_ih, dW_ih = dGᵀ X, dW_hh = dGᵀ H_prev (three GEMMs).
/// </summary>
/// <remarks>
/// Layouts (row-major, contiguous): x [B, T, in]; h0, c0 [B, H]; y [States, B, T, H] holds the
/// h sequence and, for the LSTM, the c sequence after it; cache [B, T, CacheWidth]. Step t of
/// batch row b sits at row b·T + t, so a step's rows are T rows apart: every per-step call gets
/// a row stride instead of a copy.
/// </remarks>
public static unsafe class RecurrentSequence
{
    /// <summary>
    /// Runs the layer: writes y (all hidden states, and cell states for the LSTM) and the cache
    /// that <see cref="Backward"/> needs. Biases may be null (a layer without bias).
    /// </summary>
    public static void Forward<T>(RecurrentGeometry g, T* x, T* wIh, T* wHh, T* bIh, T* bHh, T* h0, T* c0, T* y, T* cache)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int B = g.Batch, T_ = g.Steps, H = g.HiddenSize, GH = g.GateWidth, CW = g.CacheWidth;
        int seqStride = T_ * H, cacheStride = T_ * CW;
        T* hSeq = y, cSeq = y + (long)B * T_ * H;

        // All steps' input projections in one GEMM (rows b·T + t), into the first GH columns of the cache.
        Gemm.Run(false, true, B * T_, GH, g.InputSize, T.One, x, g.InputSize, wIh, g.InputSize, T.Zero, cache, CW);

        for (int t = 0; t < T_; t++)
        {
            // The previous hidden state: h0, or the previous step's rows of the output sequence.
            T* hPrev = t == 0 ? h0 : hSeq + (t - 1) * H;
            int hPrevStride = t == 0 ? H : seqStride;
            T* rows = cache + (long)t * CW;
            switch (g.Cell)
            {
                case RecurrentCell.Tanh:
                    Gemm.Run(false, true, B, GH, H, T.One, hPrev, hPrevStride, wHh, H, T.One, rows, cacheStride);
                    RecurrentCells.TanhForward(B, H, rows, cacheStride, bIh, bHh, hSeq + t * H, seqStride);
                    break;
                case RecurrentCell.Lstm:
                    Gemm.Run(false, true, B, GH, H, T.One, hPrev, hPrevStride, wHh, H, T.One, rows, cacheStride);
                    T* cPrev = t == 0 ? c0 : cSeq + (t - 1) * H;
                    RecurrentCells.LstmForward(B, H, rows, cacheStride, bIh, bHh, cPrev, hPrevStride, hSeq + t * H, cSeq + t * H, seqStride);
                    break;
                default:
                    // GRU: r and z add their hidden part into the cache; n's hidden part goes to its own block.
                    Gemm.Run(false, true, B, 2 * H, H, T.One, hPrev, hPrevStride, wHh, H, T.One, rows, cacheStride);
                    Gemm.Run(false, true, B, H, H, T.One, hPrev, hPrevStride, wHh + 2L * H * H, H, T.Zero, rows + 3 * H, cacheStride);
                    RecurrentCells.GruForward(B, H, rows, cacheStride, bIh, bHh, hPrev, hPrevStride, hSeq + t * H, seqStride);
                    break;
            }
        }
    }

    /// <summary>
    /// Backpropagation through time. <paramref name="dy"/> is the gradient of y ([States, B, T, H]).
    /// Every gradient output may be null when it is not needed; the others are overwritten.
    /// </summary>
    public static void Backward<T>(RecurrentGeometry g, T* x, T* wIh, T* wHh, T* h0, T* c0, T* y, T* cache, T* dy,
        T* dx, T* dh0, T* dc0, T* dWIh, T* dWHh, T* dBIh, T* dBHh)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int B = g.Batch, T_ = g.Steps, H = g.HiddenSize, GH = g.GateWidth, CW = g.CacheWidth, In = g.InputSize;
        int seqStride = T_ * H, cacheStride = T_ * CW, gateStride = T_ * GH;
        long rows = (long)B * T_;
        T* hSeq = y, cSeq = y + rows * H, dhSeq = dy, dcSeq = dy + rows * H;
        bool gru = g.Cell == RecurrentCell.Gru;

        // Workspace: the gate gradients of every step (input side; the GRU's hidden side differs
        // for n, so it gets a second block), the running dh/dc, and the shifted hidden states.
        long gateCount = rows * GH;
        long total = gateCount * (gru ? 2 : 1) + 2L * B * H + rows * H;
        T* work = (T*)NativeMemory.AlignedAlloc((nuint)(total * sizeof(T)), 64);
        try
        {
            T* dGx = work;
            T* dGh = gru ? dGx + gateCount : dGx;
            T* dhRun = work + gateCount * (gru ? 2 : 1);
            T* dcRun = dhRun + (long)B * H;
            T* hPrevSeq = dcRun + (long)B * H;
            new Span<T>(dhRun, 2 * B * H).Clear();   // nothing flows back into the last step from later ones

            for (int t = T_ - 1; t >= 0; t--)
            {
                T* hPrev = t == 0 ? h0 : hSeq + (t - 1) * H;
                int hPrevStride = t == 0 ? H : seqStride;
                T* rowsT = cache + (long)t * CW, dGxT = dGx + (long)t * GH, dGhT = dGh + (long)t * GH;
                switch (g.Cell)
                {
                    case RecurrentCell.Tanh:
                        RecurrentCells.TanhBackward(B, H, hSeq + t * H, seqStride, dhSeq + t * H, seqStride, dhRun, dGxT, gateStride);
                        break;
                    case RecurrentCell.Lstm:
                        T* cPrev = t == 0 ? c0 : cSeq + (t - 1) * H;
                        RecurrentCells.LstmBackward(B, H, rowsT, cacheStride, cSeq + t * H, cPrev, hPrevStride,
                            dhSeq + t * H, dcSeq + t * H, seqStride, dhRun, dcRun, dGxT, gateStride);
                        break;
                    default:
                        RecurrentCells.GruBackward(B, H, rowsT, cacheStride, hPrev, hPrevStride, dhSeq + t * H, seqStride, dhRun, dGxT, dGhT, gateStride);
                        break;
                }
                // Gradient reaching the previous hidden state through W_hh (the GRU adds it to its direct path dh' z).
                Gemm.Run(false, false, B, H, GH, T.One, dGhT, gateStride, wHh, H, gru ? T.One : T.Zero, dhRun, H);
            }
            if (dh0 != null) new Span<T>(dhRun, B * H).CopyTo(new Span<T>(dh0, B * H));
            if (dc0 != null) new Span<T>(dcRun, B * H).CopyTo(new Span<T>(dc0, B * H));

            // All steps at once: dX = dG W_ih and dW_ih = dGᵀ X over the B·T rows.
            if (dx != null) Gemm.Run(false, false, (int)rows, In, GH, T.One, dGx, GH, wIh, In, T.Zero, dx, In);
            if (dWIh != null) Gemm.Run(true, false, GH, In, (int)rows, T.One, dGx, GH, x, In, T.Zero, dWIh, In);
            if (dWHh != null)
            {
                // Row b·T + t of hPrevSeq is the state step t started from: h0 for t = 0, else h_{t-1}.
                for (int b = 0; b < B; b++)
                {
                    new Span<T>(h0 + (long)b * H, H).CopyTo(new Span<T>(hPrevSeq + (long)b * seqStride, H));
                    new Span<T>(hSeq + (long)b * seqStride, (T_ - 1) * H).CopyTo(new Span<T>(hPrevSeq + (long)b * seqStride + H, (T_ - 1) * H));
                }
                Gemm.Run(true, false, GH, H, (int)rows, T.One, dGh, GH, hPrevSeq, H, T.Zero, dWHh, H);
            }
            if (dBIh != null) SumRows(dGx, rows, GH, dBIh);
            if (dBHh != null) SumRows(dGh, rows, GH, dBHh);
        }
        finally
        {
            NativeMemory.AlignedFree(work);
        }
    }

    /// <summary>dst[j] = Σ_i src[i, j]: a bias gradient is the sum of its gate gradients over batch and time.</summary>
    private static void SumRows<T>(T* src, long rows, int cols, T* dst) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sum = new Span<T>(dst, cols);
        sum.Clear();
        for (long i = 0; i < rows; i++)
            TensorPrimitives.Add(sum, new ReadOnlySpan<T>(src + i * cols, cols), sum);
    }
}
