using System.Numerics;
using ILGPU;
using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// Recurrent layers (tanh RNN, LSTM, GRU) on ILGPU, arranged as the CPU's RecurrentSequence so
/// most flops are in GEMMs (the shared GPU GEMM, <see cref="GpuMatMul.Run"/>):
/// <list type="number">
/// <item>the input projection of every step at once, X [B·T, in] W_ihᵀ, into the gate cache;</item>
/// <item>per step, h W_hhᵀ added into that step's cache rows (beta = 1), then one fused cell kernel
/// (Kernels/Gpu/Recurrent.cs) for biases, activations and the new state;</item>
/// <item>backward, newest step first: the cell's backward kernel gives the step's gate gradients,
/// and one GEMM carries them to the previous hidden state; then dX, dW_ih and dW_hh for all steps
/// at once (three GEMMs) and the bias gradients as column sums.</item>
/// </list>
/// </summary>
/// <remarks>
/// Layouts (contiguous, as IBackend promises): x [B, T, in]; h0, c0 [B, H]; output
/// [States, B, T, H] (the h sequence, then for the LSTM the c sequence); cache [B, T, CacheWidth].
/// Step t of batch row b is row b·T + t, so a step's rows are T rows apart: every per-step GEMM
/// and kernel gets a row stride instead of a copy. Kernels and GEMMs run in order on the
/// accelerator's stream, so nothing waits on the host between steps.
/// </remarks>
internal static class GpuRecurrent
{
    // One field per kernel instantiation, so each is registered for the PTX test (KernelRegistry).
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RecurrentStep>> TanhForward32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RecurrentStep>(Recurrent.TanhForward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, RecurrentStep>> TanhForward64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, RecurrentStep>(Recurrent.TanhForward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RecurrentStep>> LstmForward32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RecurrentStep>(Recurrent.LstmForward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, RecurrentStep>> LstmForward64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, RecurrentStep>(Recurrent.LstmForward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RecurrentStep>> GruForward32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RecurrentStep>(Recurrent.GruForward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, RecurrentStep>> GruForward64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, RecurrentStep>(Recurrent.GruForward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RecurrentStep>> TanhBackward32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RecurrentStep>(Recurrent.TanhBackward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, RecurrentStep>> TanhBackward64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, RecurrentStep>(Recurrent.TanhBackward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RecurrentStep>> LstmBackward32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RecurrentStep>(Recurrent.LstmBackward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, RecurrentStep>> LstmBackward64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, RecurrentStep>(Recurrent.LstmBackward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RecurrentStep>> GruBackward32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RecurrentStep>(Recurrent.GruBackward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, RecurrentStep>> GruBackward64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, RecurrentStep>(Recurrent.GruBackward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>> PreviousStates32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(Recurrent.PreviousStates);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int>> PreviousStates64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int>(Recurrent.PreviousStates);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, int, int>> ColumnSums32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, int, int>(Recurrent.ColumnSums);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, int, int>> ColumnSums64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, int, int>(Recurrent.ColumnSums);

    /// <summary>
    /// The launchers of one element type, loaded on one backend: lets <see cref="Forward{T}"/> and
    /// <see cref="Backward{T}"/> be written once for float and double.
    /// </summary>
    private sealed record Cells<T>(
        Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, RecurrentStep> TanhForward,
        Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, RecurrentStep> LstmForward,
        Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, RecurrentStep> GruForward,
        Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, RecurrentStep> TanhBackward,
        Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, RecurrentStep> LstmBackward,
        Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, RecurrentStep> GruBackward,
        Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int> PreviousStates,
        Action<Index1D, ArrayView<T>, ArrayView<T>, int, int> ColumnSums) where T : unmanaged;

    private static Cells<float> Float32(IlgpuBackend b) => new(TanhForward32.On(b), LstmForward32.On(b), GruForward32.On(b),
        TanhBackward32.On(b), LstmBackward32.On(b), GruBackward32.On(b), PreviousStates32.On(b), ColumnSums32.On(b));

    private static Cells<double> Float64(IlgpuBackend b) => new(TanhForward64.On(b), LstmForward64.On(b), GruForward64.On(b),
        TanhBackward64.On(b), LstmBackward64.On(b), GruBackward64.On(b), PreviousStates64.On(b), ColumnSums64.On(b));

    /// <summary>The op name in errors, as the layers call it.</summary>
    private static string OpName(RecurrentGeometry g) => g.Cell switch
    {
        RecurrentCell.Lstm => "lstm",
        RecurrentCell.Gru => "gru",
        _ => "rnn_tanh",
    };

    public static void Forward(IlgpuBackend backend, RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh,
        Tensor h0, Tensor? c0, Tensor output, Tensor cache)
    {
        g.Validate();
        string op = OpName(g);
        if (g.Cell == RecurrentCell.Lstm && c0 == null) throw new ArgumentException($"{op}: expected an initial cell state c0, got none.");
        switch (output.DType)
        {
            case DType.Float32: Forward(backend, Float32(backend), op, g, input, weightIh, weightHh, biasIh, biasHh, h0, c0, output, cache); break;
            case DType.Float64: Forward(backend, Float64(backend), op, g, input, weightIh, weightHh, biasIh, biasHh, h0, c0, output, cache); break;
            default: throw new NotSupportedException($"{op}: dtype {output.DType.Name()} is not supported (expected float32 or float64).");
        }
    }

    public static void Backward(IlgpuBackend backend, RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor h0, Tensor? c0,
        Tensor output, Tensor cache, Tensor gradOutput, Tensor? gradInput, Tensor? gradH0, Tensor? gradC0,
        Tensor? gradWeightIh, Tensor? gradWeightHh, Tensor? gradBiasIh, Tensor? gradBiasHh)
    {
        g.Validate();
        string op = OpName(g);
        if (g.Cell == RecurrentCell.Lstm && c0 == null) throw new ArgumentException($"{op}: expected an initial cell state c0, got none.");
        var grads = new Gradients(gradInput, gradH0, gradC0, gradWeightIh, gradWeightHh, gradBiasIh, gradBiasHh);
        switch (output.DType)
        {
            case DType.Float32: Backward(backend, Float32(backend), op, g, input, weightIh, weightHh, h0, c0, output, cache, gradOutput, grads); break;
            case DType.Float64: Backward(backend, Float64(backend), op, g, input, weightIh, weightHh, h0, c0, output, cache, gradOutput, grads); break;
            default: throw new NotSupportedException($"{op}: dtype {output.DType.Name()} is not supported (expected float32 or float64).");
        }
    }

    /// <summary>The gradients backward may write; a null one is not wanted.</summary>
    private sealed record Gradients(Tensor? Input, Tensor? H0, Tensor? C0, Tensor? WeightIh, Tensor? WeightHh, Tensor? BiasIh, Tensor? BiasHh);

    /// <summary>
    /// C = A op(B) + beta C on the device, single matrices, A not transposed: the only shape the
    /// recurrent GEMMs need besides the weight gradients' Aᵀ B. Offsets are in elements past each
    /// tensor's first element. Always in float32 or float64, never TF32 (see GpuSettings.AllowTf32).
    /// </summary>
    private static void Gemm(IlgpuBackend backend, DType dtype, bool transA, bool transB, int m, int n, int k,
        Tensor a, long aAt, int lda, Tensor b, long bAt, int ldb, double beta, Tensor c, long cAt, int ldc) =>
        GpuMatMul.Run(backend, dtype, a, a.Layout.Offset + aAt, transA, b, b.Layout.Offset + bAt, transB, c, c.Layout.Offset + cAt,
            m, n, k, lda, ldb, ldc, batch: 1, strideA: 0, strideB: 0, strideC: 0, alpha: 1, beta: beta, allowTf32: false);

    private static void Forward<T>(IlgpuBackend backend, Cells<T> k, string op, RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh,
        Tensor? biasIh, Tensor? biasHh, Tensor h0, Tensor? c0, Tensor output, Tensor cache) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dtype = output.DType;
        int B = g.Batch, T_ = g.Steps, H = g.HiddenSize, GH = g.GateWidth, CW = g.CacheWidth, In = g.InputSize, n = B * H;
        int seqStride = T_ * H, cacheStride = T_ * CW;
        long cSeq = (long)B * T_ * H;   // where the LSTM's c sequence starts in the output
        var y = backend.View<T>(output, op);
        var gates = backend.View<T>(cache, op);
        // An absent bias is never read (its flag is 0), but the kernel still needs a view: pass the cache's.
        var bIh = biasIh == null ? gates : backend.View<T>(biasIh, op);
        var bHh = biasHh == null ? gates : backend.View<T>(biasHh, op);

        // All steps' input projections in one GEMM (rows b·T + t), into the first GH columns of the cache.
        Gemm(backend, dtype, false, true, B * T_, GH, In, input, 0, In, weightIh, 0, In, 0, cache, 0, CW);

        for (int t = 0; t < T_; t++)
        {
            // The previous hidden state: h0, or the previous step's rows of the output sequence.
            var (hPrev, hPrevAt, prevStride) = t == 0 ? (h0, 0L, H) : (output, (long)(t - 1) * H, seqStride);
            long rows = (long)t * CW;
            var s = new RecurrentStep
            {
                Hidden = H, GatesStride = cacheStride, PrevStride = prevStride, SeqStride = seqStride, StateOffset = cSeq,
                HasBiasIh = biasIh == null ? 0 : 1, HasBiasHh = biasHh == null ? 0 : 1,
            };
            var hOut = y.SubView((long)t * H);
            switch (g.Cell)
            {
                case RecurrentCell.Tanh:
                    Gemm(backend, dtype, false, true, B, GH, H, hPrev, hPrevAt, prevStride, weightHh, 0, H, 1, cache, rows, cacheStride);
                    k.TanhForward(n, gates.SubView(rows), bIh, bHh, hOut, s);
                    break;
                case RecurrentCell.Lstm:
                    Gemm(backend, dtype, false, true, B, GH, H, hPrev, hPrevAt, prevStride, weightHh, 0, H, 1, cache, rows, cacheStride);
                    var cPrev = t == 0 ? backend.View<T>(c0!, op) : y.SubView(cSeq + (long)(t - 1) * H);
                    k.LstmForward(n, gates.SubView(rows), bIh, bHh, cPrev, hOut, y.SubView(cSeq + (long)t * H), s);
                    break;
                default:
                    // GRU: r and z add their hidden part into the cache; n's hidden part goes to its own block.
                    Gemm(backend, dtype, false, true, B, 2 * H, H, hPrev, hPrevAt, prevStride, weightHh, 0, H, 1, cache, rows, cacheStride);
                    Gemm(backend, dtype, false, true, B, H, H, hPrev, hPrevAt, prevStride, weightHh, 2L * H * H, H, 0, cache, rows + 3 * H, cacheStride);
                    k.GruForward(n, gates.SubView(rows), bIh, bHh, backend.View<T>(hPrev, op).SubView(hPrevAt), hOut, s);
                    break;
            }
        }
    }

    private static void Backward<T>(IlgpuBackend backend, Cells<T> k, string op, RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh,
        Tensor h0, Tensor? c0, Tensor output, Tensor cache, Tensor gradOutput, Gradients d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dtype = output.DType;
        var device = backend.Device;
        int B = g.Batch, T_ = g.Steps, H = g.HiddenSize, GH = g.GateWidth, CW = g.CacheWidth, In = g.InputSize, n = B * H;
        int seqStride = T_ * H, cacheStride = T_ * CW, gateStride = T_ * GH, rows = B * T_;
        long cSeq = (long)B * T_ * H;
        bool gru = g.Cell == RecurrentCell.Gru;

        // The gate gradients of every step (input side; the GRU's hidden side differs for n, so it
        // gets a second tensor), and the gradients flowing back into the previous step's h and c.
        using var dGx = Tensor.Empty([B, T_, GH], dtype, device);
        using var dGhOwn = gru ? Tensor.Empty([B, T_, GH], dtype, device) : null;
        var dGh = dGhOwn ?? dGx;
        using var dhRun = Tensor.Empty([B, H], dtype, device);
        using var dcRun = Tensor.Empty([B, H], dtype, device);
        backend.Fill(dhRun, 0);   // nothing flows back into the last step from later ones
        backend.Fill(dcRun, 0);

        var y = backend.View<T>(output, op);
        var gates = backend.View<T>(cache, op);
        var dy = backend.View<T>(gradOutput, op);
        var dGxView = backend.View<T>(dGx, op);
        var dGhView = backend.View<T>(dGh, op);
        var dhRunView = backend.View<T>(dhRun, op);
        var dcRunView = backend.View<T>(dcRun, op);

        for (int t = T_ - 1; t >= 0; t--)
        {
            int prevStride = t == 0 ? H : seqStride;
            var s = new RecurrentStep
            {
                Hidden = H, GatesStride = cacheStride, GradStride = gateStride, PrevStride = prevStride, SeqStride = seqStride, StateOffset = cSeq,
            };
            long step = (long)t * H;
            var dGxT = dGxView.SubView((long)t * GH);
            switch (g.Cell)
            {
                case RecurrentCell.Tanh:
                    k.TanhBackward(n, y.SubView(step), dy.SubView(step), dhRunView, dGxT, s);
                    break;
                case RecurrentCell.Lstm:
                    var cPrev = t == 0 ? backend.View<T>(c0!, op) : y.SubView(cSeq + step - H);
                    k.LstmBackward(n, gates.SubView((long)t * CW), y.SubView(cSeq + step), cPrev, dy.SubView(step), dhRunView, dcRunView, dGxT, s);
                    break;
                default:
                    var hPrev = t == 0 ? backend.View<T>(h0, op) : y.SubView(step - H);
                    k.GruBackward(n, gates.SubView((long)t * CW), hPrev, dy.SubView(step), dhRunView, dGxT, dGhView.SubView((long)t * GH), s);
                    break;
            }
            // Gradient reaching the previous hidden state through W_hh (the GRU adds it to its direct path dh' z).
            Gemm(backend, dtype, false, false, B, H, GH, dGh, (long)t * GH, gateStride, weightHh, 0, H, gru ? 1 : 0, dhRun, 0, H);
        }
        if (d.H0 != null) backend.Copy(dhRun, d.H0);
        if (d.C0 != null) backend.Copy(dcRun, d.C0);

        // All steps at once: dX = dG W_ih and dW_ih = dGᵀ X over the B·T rows.
        if (d.Input != null) Gemm(backend, dtype, false, false, rows, In, GH, dGx, 0, GH, weightIh, 0, In, 0, d.Input, 0, In);
        if (d.WeightIh != null) Gemm(backend, dtype, true, false, GH, In, rows, dGx, 0, GH, input, 0, In, 0, d.WeightIh, 0, In);
        if (d.WeightHh != null)
        {
            // Row b·T + t of hPrevSeq is the state step t started from: h0 for t = 0, else h_{t-1}.
            using var hPrevSeq = Tensor.Empty([B, T_, H], dtype, device);
            k.PreviousStates(rows * H, backend.View<T>(h0, op), y, backend.View<T>(hPrevSeq, op), T_, H);
            Gemm(backend, dtype, true, false, GH, H, rows, dGh, 0, GH, hPrevSeq, 0, H, 0, d.WeightHh, 0, H);
        }
        if (d.BiasIh != null) k.ColumnSums(GH, dGxView, backend.View<T>(d.BiasIh, op), rows, GH);
        if (d.BiasHh != null) k.ColumnSums(GH, dGhView, backend.View<T>(d.BiasHh, op), rows, GH);
    }
}
