using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// Recurrent layers on the GPU (recurrent.gpu), arranged like the CPU's RecurrentSequence: one
/// tiled GEMM for the input projection of every step, then per step one fused kernel (recurrent
/// projection plus cell); backward walks the steps newest first with a gate-gradient kernel and a
/// gather for the previous hidden state's gradient, then does dX, dW_ih, dW_hh and the biases for
/// all steps at once. Every output element is owned by one work-item: no atomics, deterministic.
/// </summary>
internal sealed partial class GpuBackend
{
    /// <summary>Side of the square tiles of rnn_gemm (RNN_TILE in recurrent.gpu).</summary>
    private const int RnnTile = 16;

    /// <summary>An optional tensor argument: buffer, offset and a present flag (a stand-in buffer when absent).</summary>
    private static KernelArgs Optional(KernelArgs args, Tensor? t, Tensor standIn, string op) =>
        t == null ? At(args, standIn, 0, op).Int(0) : At(args, t, 0, op).Int(1);

    private static string RecurrentOp(RecurrentGeometry g) => g.Cell.ToString().ToLowerInvariant();

    private static void CheckRecurrentDType(RecurrentGeometry g, Tensor t)
    {
        if (!t.DType.IsFloating())
            throw new NotSupportedException($"{RecurrentOp(g)}: dtype {t.DType.Name()} is not supported (expected float32 or float64).");
    }

    /// <summary>
    /// C[m, n] = Σ_k A(m, k) B(k, n) (see rnn_gemm). <paramref name="shiftSteps"/> > 0 makes B the
    /// per-step previous hidden states (h0 for step 0, else the previous row of <paramref name="b"/>).
    /// </summary>
    private void RnnGemm(DType dtype, Tensor c, int ldc, Tensor a, long aExtra, int sam, int sak, Tensor b, long bExtra, int sbk, int sbn,
        Tensor? h0, int shiftSteps, int m, int n, int k, string op)
    {
        var args = new KernelArgs();
        At(args, c, 0, op).Int(ldc);
        At(args, a, aExtra, op).Int(sam).Int(sak);
        At(args, b, bExtra, op).Int(sbk).Int(sbn);
        At(args, h0 ?? b, 0, op).Int(shiftSteps);
        args.Int(m).Int(n).Int(k);
        Runtime.Launch(Kernel("recurrent", "rnn_gemm", dtype), ((n + RnnTile - 1) / RnnTile, (m + RnnTile - 1) / RnnTile, 1), (RnnTile, RnnTile, 1), args);
    }

    public void RecurrentForward(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh,
        Tensor h0, Tensor? c0, Tensor output, Tensor cache)
    {
        CheckRecurrentDType(g, output);
        string op = RecurrentOp(g);
        bool lstm = g.Cell == RecurrentCell.Lstm;
        if (lstm && c0 == null) throw new ArgumentException("lstm: expected an initial cell state c0, got none.");
        var dtype = output.DType;
        int B = g.Batch, T = g.Steps, H = g.HiddenSize, GH = g.GateWidth, CW = g.CacheWidth, In = g.InputSize;
        int seqStride = T * H, cacheStride = T * CW;
        long cSeq = (long)B * T * H;

        // All steps' input projections, X [B·T, in] W_ihᵀ, into the first GH columns of each cache row.
        RnnGemm(dtype, cache, CW, input, 0, In, 1, weightIh, 0, 1, In, null, 0, B * T, GH, In, op);

        string name = g.Cell switch { RecurrentCell.Lstm => "rnn_lstm_step", RecurrentCell.Gru => "rnn_gru_step", _ => "rnn_tanh_step" };
        var kernel = Kernel("recurrent", name, dtype);
        for (int t = 0; t < T; t++)
        {
            var args = new KernelArgs();
            At(args, cache, (long)t * CW, op).Int(cacheStride);
            At(args, weightHh, 0, op);
            Optional(args, biasIh, weightHh, op);
            Optional(args, biasHh, weightHh, op);
            // The previous hidden state: h0, or the previous step's rows of the output sequence.
            if (t == 0) At(args, h0, 0, op).Int(H);
            else At(args, output, (long)(t - 1) * H, op).Int(seqStride);
            if (lstm)
            {
                if (t == 0) At(args, c0!, 0, op).Int(H);
                else At(args, output, cSeq + (long)(t - 1) * H, op).Int(seqStride);
                At(args, output, (long)t * H, op);
                At(args, output, cSeq + (long)t * H, op);
            }
            else
            {
                At(args, output, (long)t * H, op);
            }
            args.Int(seqStride).Int(B).Int(H);
            Launch1D(kernel, (long)B * H, args);
        }
    }

    public void RecurrentBackward(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor h0, Tensor? c0,
        Tensor output, Tensor cache, Tensor gradOutput, Tensor? gradInput, Tensor? gradH0, Tensor? gradC0,
        Tensor? gradWeightIh, Tensor? gradWeightHh, Tensor? gradBiasIh, Tensor? gradBiasHh)
    {
        CheckRecurrentDType(g, output);
        string op = RecurrentOp(g);
        bool lstm = g.Cell == RecurrentCell.Lstm, gru = g.Cell == RecurrentCell.Gru;
        if (lstm && c0 == null) throw new ArgumentException("lstm: expected an initial cell state c0, got none.");
        var dtype = output.DType;
        int B = g.Batch, T = g.Steps, H = g.HiddenSize, GH = g.GateWidth, CW = g.CacheWidth, In = g.InputSize;
        int seqStride = T * H, cacheStride = T * CW, gateStride = T * GH, rows = B * T;
        long cSeq = (long)B * T * H;

        // The gate gradients of every step (input side; the GRU's hidden side differs for n, so it
        // gets a second tensor), and the gradients flowing back into the previous step's h and c.
        using var dGx = Tensor.Empty([B, T, GH], dtype, Device);
        using var dGhOwn = gru ? Tensor.Empty([B, T, GH], dtype, Device) : null;
        var dGh = dGhOwn ?? dGx;
        using var dhRun = Tensor.Empty([B, H], dtype, Device);
        using var dcRun = Tensor.Empty([B, H], dtype, Device);
        Fill(dhRun, 0);   // nothing flows back into the last step from later ones
        Fill(dcRun, 0);

        string name = g.Cell switch { RecurrentCell.Lstm => "rnn_lstm_back_step", RecurrentCell.Gru => "rnn_gru_back_step", _ => "rnn_tanh_back_step" };
        var cellKernel = Kernel("recurrent", name, dtype);
        var dhKernel = Kernel("recurrent", "rnn_dh_step", dtype);
        for (int t = T - 1; t >= 0; t--)
        {
            var args = new KernelArgs();
            switch (g.Cell)
            {
                case RecurrentCell.Tanh:
                    At(args, output, (long)t * H, op).Int(seqStride);
                    At(args, gradOutput, (long)t * H, op);
                    At(args, dhRun, 0, op);
                    At(args, dGx, (long)t * GH, op).Int(gateStride);
                    break;
                case RecurrentCell.Lstm:
                    At(args, cache, (long)t * CW, op).Int(cacheStride);
                    At(args, output, cSeq + (long)t * H, op).Int(seqStride);
                    if (t == 0) At(args, c0!, 0, op).Int(H);
                    else At(args, output, cSeq + (long)(t - 1) * H, op).Int(seqStride);
                    At(args, gradOutput, (long)t * H, op);
                    At(args, gradOutput, cSeq + (long)t * H, op);
                    At(args, dhRun, 0, op);
                    At(args, dcRun, 0, op);
                    At(args, dGx, (long)t * GH, op).Int(gateStride);
                    break;
                default:
                    At(args, cache, (long)t * CW, op).Int(cacheStride);
                    if (t == 0) At(args, h0, 0, op).Int(H);
                    else At(args, output, (long)(t - 1) * H, op).Int(seqStride);
                    At(args, gradOutput, (long)t * H, op).Int(seqStride);
                    At(args, dhRun, 0, op);
                    At(args, dGx, (long)t * GH, op);
                    At(args, dGh, (long)t * GH, op).Int(gateStride);
                    break;
            }
            args.Int(B).Int(H);
            Launch1D(cellKernel, (long)B * H, args);

            // Gradient reaching the previous hidden state through W_hh (the GRU adds it to its direct path dh' z).
            var dhArgs = new KernelArgs();
            At(dhArgs, dhRun, 0, op);
            At(dhArgs, dGh, (long)t * GH, op).Int(gateStride);
            At(dhArgs, weightHh, 0, op).Int(gru ? 1 : 0).Int(B).Int(H).Int(GH);
            Launch1D(dhKernel, (long)B * H, dhArgs);
        }
        if (gradH0 != null) Copy(dhRun, gradH0);
        if (gradC0 != null) Copy(dcRun, gradC0);

        // All steps at once: dX = dG W_ih, dW_ih = dGᵀ X, dW_hh = dGᵀ H_prev over the B·T rows.
        if (gradInput != null)
            RnnGemm(dtype, gradInput, In, dGx, 0, GH, 1, weightIh, 0, In, 1, null, 0, rows, In, GH, op);
        if (gradWeightIh != null)
            RnnGemm(dtype, gradWeightIh, In, dGx, 0, 1, GH, input, 0, In, 1, null, 0, GH, In, rows, op);
        if (gradWeightHh != null)
            RnnGemm(dtype, gradWeightHh, H, dGh, 0, 1, GH, output, 0, H, 1, h0, T, GH, H, rows, op);
        if (gradBiasIh != null) BiasGrad(dtype, gradBiasIh, dGx, rows, GH, op);
        if (gradBiasHh != null) BiasGrad(dtype, gradBiasHh, dGh, rows, GH, op);
    }

    /// <summary>dst[j] = Σ over the (b, t) rows of the gate gradients' column j.</summary>
    private void BiasGrad(DType dtype, Tensor dst, Tensor gates, int rows, int width, string op)
    {
        var args = new KernelArgs();
        At(args, dst, 0, op);
        At(args, gates, 0, op).Int(rows).Int(width);
        Launch1D(Kernel("recurrent", "rnn_bias_grad", dtype), width, args);
    }
}
