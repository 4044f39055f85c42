using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// Recurrent layers over whole sequences as single differentiable ops: "rnn_tanh", "lstm" and
/// "gru". One layer, all its time steps, is ONE tape entry whose backward runs
/// backpropagation-through-time in the kernel, so a 28-step LSTM adds one entry, not hundreds,
/// and nothing per step (gates, states) is a tensor the tape has to track.
/// Shapes are batch-first: input [B, T, in]; h0, c0 [B, H]; weights in PyTorch's layout
/// (weight_ih [G·H, in], weight_hh [G·H, H], biases [G·H], G = 1, 4 or 3 gates).
/// </summary>
public static class RecurrentOps
{
    extension(Tensor input)
    {
        /// <summary>
        /// Tanh RNN layer: h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh). Returns every h_t, [B, T, H].
        /// </summary>
        public Tensor RnnTanhSequence(Tensor h0, Tensor weightIh, Tensor weightHh, Tensor? biasIh = null, Tensor? biasHh = null) =>
            Run(RecurrentCell.Tanh, input, h0, null, weightIh, weightHh, biasIh, biasHh);

        /// <summary>
        /// LSTM layer (gates i, f, g, o). Returns every hidden state h_t (the layer's output) and
        /// every cell state c_t (so the last one is c_n), each [B, T, H]: two views of the one
        /// recorded output, so gradients reaching either flow into the same tape entry.
        /// </summary>
        public LstmState LstmSequence(Tensor h0, Tensor c0, Tensor weightIh, Tensor weightHh, Tensor? biasIh = null, Tensor? biasHh = null)
        {
            // The op's single output stacks the two sequences, [2, B, T, H]; hand them out by name.
            using var both = Run(RecurrentCell.Lstm, input, h0, c0, weightIh, weightHh, biasIh, biasHh);
            int batch = both.Layout.Shape[1], steps = both.Layout.Shape[2], hidden = both.Layout.Shape[3];
            using var h = both.Narrow(0, 0, 1);
            using var c = both.Narrow(0, 1, 1);
            var hs = h.Reshape(batch, steps, hidden);
            try { return new LstmState(hs, c.Reshape(batch, steps, hidden)); }
            catch { hs.Dispose(); throw; }
        }

        /// <summary>
        /// GRU layer (gates r, z, n; n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h).
        /// Returns every h_t, [B, T, H].
        /// </summary>
        public Tensor GruSequence(Tensor h0, Tensor weightIh, Tensor weightHh, Tensor? biasIh = null, Tensor? biasHh = null) =>
            Run(RecurrentCell.Gru, input, h0, null, weightIh, weightHh, biasIh, biasHh);
    }

    /// <summary>The op name on the tape and in errors, as PyTorch calls it.</summary>
    private static string OpName(RecurrentCell cell) => cell switch
    {
        RecurrentCell.Lstm => "lstm",
        RecurrentCell.Gru => "gru",
        _ => "rnn_tanh",
    };

    private static Tensor Run(RecurrentCell cell, Tensor x, Tensor h0, Tensor? c0, Tensor wIh, Tensor wHh, Tensor? bIh, Tensor? bHh)
    {
        string op = OpName(cell);
        var g = Check(op, cell, x, h0, c0, wIh, wHh, bIh, bHh);

        // The kernel wants dense row-major operands; views that already are cost nothing here.
        using var xc = x.AsContiguous(op);
        using var h0c = h0.AsContiguous(op);
        using var c0c = c0?.AsContiguous(op);
        using var wIhc = wIh.AsContiguous(op);
        using var wHhc = wHh.AsContiguous(op);
        using var bIhc = bIh?.AsContiguous(op);
        using var bHhc = bHh?.AsContiguous(op);
        var full = Tensor.Empty([g.States, g.Batch, g.Steps, g.HiddenSize], x.DType, x.Device);
        using var cache = Tensor.Empty([g.Batch, g.Steps, g.CacheWidth], x.DType, x.Device);
        x.Backend(op).RecurrentForward(g, xc, wIhc, wHhc, bIhc, bHhc, h0c, c0c, full, cache);

        // The LSTM returns h and c sequences stacked; the others just the h sequence.
        Tensor y;
        if (g.States == 2) y = full;
        else
        {
            using (full) y = full.View(Layout.Contiguous([g.Batch, g.Steps, g.HiddenSize]), op);
        }

        var inputs = new List<Tensor> { x, h0 };
        if (c0 != null) inputs.Add(c0);
        inputs.Add(wIh);
        inputs.Add(wHh);
        if (bIh != null) inputs.Add(bIh);
        if (bHh != null) inputs.Add(bHh);
        var saved = new Saved(xc, wIhc, wHhc, h0c, c0c, y, cache);

        return Tape.Record(op, y, inputs.ToArray(), (grad, tensors) =>
        {
            var s = Saved.From(tensors);
            using var gy = grad.AsContiguous(op);
            Tensor? Grad(Tensor? of) => of is { RequiresGrad: true } ? Tensor.Empty(of.Layout.Shape.ToArray(), grad.DType, grad.Device) : null;
            var gx = Grad(x); var gh0 = Grad(h0); var gc0 = Grad(c0);
            var gwIh = Grad(wIh); var gwHh = Grad(wHh); var gbIh = Grad(bIh); var gbHh = Grad(bHh);
            gy.Backend(op).RecurrentBackward(g, s.Input, s.WeightIh, s.WeightHh, s.H0, s.C0, s.Output, s.Cache, gy,
                gx, gh0, gc0, gwIh, gwHh, gbIh, gbHh);
            var result = new List<Tensor?> { gx, gh0 };
            if (c0 != null) result.Add(gc0);
            result.Add(gwIh);
            result.Add(gwHh);
            if (bIh != null) result.Add(gbIh);
            if (bHh != null) result.Add(gbHh);
            return result.ToArray();
        }, saved.ToArray());
    }

    /// <summary>
    /// What backward reads, by name: the dense operands, the forward's output and its per-step
    /// cache. <see cref="ToArray"/> and <see cref="From"/> are the one place that knows the order
    /// the tape keeps them in.
    /// </summary>
    private readonly record struct Saved(Tensor Input, Tensor WeightIh, Tensor WeightHh, Tensor H0, Tensor? C0, Tensor Output, Tensor Cache)
    {
        public Tensor[] ToArray() => C0 == null ? [Input, WeightIh, WeightHh, H0, Output, Cache] : [Input, WeightIh, WeightHh, H0, Output, Cache, C0];

        public static Saved From(Tensor[] s) => new(s[0], s[1], s[2], s[3], s.Length > 6 ? s[6] : null, s[4], s[5]);
    }

    /// <summary>Checks every operand's shape, dtype and device, naming the op and what was expected.</summary>
    private static RecurrentGeometry Check(string op, RecurrentCell cell, Tensor x, Tensor h0, Tensor? c0, Tensor wIh, Tensor wHh, Tensor? bIh, Tensor? bHh)
    {
        OpChecks.Floating(op, x);
        if (x.Rank != 3)
            throw new ArgumentException($"{op}: expected a batch-first input [batch, time, features], got shape {Layout.Format(x.Layout.Shape)}.");
        int batch = x.Layout.Shape[0], steps = x.Layout.Shape[1], inputSize = x.Layout.Shape[2];
        OpChecks.Rank(op, wHh, 2, "weight_hh [gates*hidden, hidden]");
        int hidden = wHh.Layout.Shape[1];
        var g = new RecurrentGeometry(cell, batch, steps, inputSize, hidden);
        if (batch == 0 || steps == 0 || inputSize == 0)
            throw new ArgumentException($"{op}: expected a non-empty input [batch, time, features], got shape {Layout.Format(x.Layout.Shape)}.");
        g.Validate();

        void Expect(Tensor? t, string name, params int[] shape)
        {
            if (t == null) return;
            OpChecks.SameDevice(op, x, t);
            OpChecks.SameDType(op, x, t);
            if (!t.Layout.Shape.SequenceEqual(shape))
                throw new ArgumentException($"{op}: expected {name} of shape {Layout.Format(shape)} (batch {batch}, input {inputSize}, hidden {hidden}, {g.Gates} gate(s)), got {Layout.Format(t.Layout.Shape)}.");
        }
        Expect(wHh, "weight_hh", g.GateWidth, hidden);
        Expect(wIh, "weight_ih", g.GateWidth, inputSize);
        Expect(bIh, "bias_ih", g.GateWidth);
        Expect(bHh, "bias_hh", g.GateWidth);
        Expect(h0, "h0", batch, hidden);
        if (cell == RecurrentCell.Lstm && c0 == null)
            throw new ArgumentException($"{op}: the LSTM needs an initial cell state c0 [{batch}, {hidden}].");
        Expect(c0, "c0", batch, hidden);
        return g;
    }
}
