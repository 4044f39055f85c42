using Tensorium.Layers;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Kernels.Gpu;

/// <summary>
/// The ILGPU recurrent kernels (Kernels/Gpu/Recurrent.cs, driven by Engine/Backends/Gpu/Recurrent.cs)
/// on the emulated device against the CPU backend, for what GpuRecurrentParityTests does not reach:
/// a layer with only one of its two biases (the kernels read each bias behind its own flag, and
/// the GRU's b_hn sits inside r (...), apart from b_in), and the smallest shape (one batch row,
/// one hidden unit, one input feature), called through IBackend so no other op is involved; and
/// one LSTM stack end to end through autograd. Shapes are tiny because the emulated device costs
/// about 2 us per thread.
/// </summary>
[TestFixture]
public class RecurrentTests
{
    private static readonly RecurrentCell[] Cells = [RecurrentCell.Tanh, RecurrentCell.Lstm, RecurrentCell.Gru];

    private static Tensor Random(int[] shape, DType dtype, ulong seed, double scale = 1) =>
        Tensor.Uniform(shape, -scale, scale, new Generator(seed), dtype, Device.Cpu);

    /// <summary>Everything one forward + backward reads and writes; index 0..6 of Grads: dX, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh.</summary>
    private sealed record Case(Tensor X, Tensor WIh, Tensor WHh, Tensor? BIh, Tensor? BHh, Tensor H0, Tensor? C0,
        Tensor Output, Tensor Cache, Tensor GradOutput, Tensor?[] Grads) : IDisposable
    {
        public Case To(Device device) => new(X.To(device), WIh.To(device), WHh.To(device), BIh?.To(device), BHh?.To(device),
            H0.To(device), C0?.To(device), Output.To(device), Cache.To(device), GradOutput.To(device), Grads.Select(t => t?.To(device)).ToArray());

        public void Dispose()
        {
            foreach (var t in new[] { X, WIh, WHh, BIh, BHh, H0, C0, Output, Cache, GradOutput }.Concat(Grads)) t?.Dispose();
        }
    }

    /// <summary>Inputs on the CPU; outputs and gradients hold junk that the run must overwrite.</summary>
    private static Case Make(RecurrentGeometry g, DType dtype, bool biasIh, bool biasHh)
    {
        int B = g.Batch, T = g.Steps, H = g.HiddenSize, GH = g.GateWidth, In = g.InputSize;
        int[][] gradShapes = [[B, T, In], [B, H], [B, H], [GH, In], [GH, H], [GH], [GH]];
        bool[] wanted = [true, true, g.Cell == RecurrentCell.Lstm, true, true, biasIh, biasHh];
        return new Case(
            Random([B, T, In], dtype, 1), Random([GH, In], dtype, 2, 0.6), Random([GH, H], dtype, 3, 0.6),
            biasIh ? Random([GH], dtype, 6, 0.5) : null, biasHh ? Random([GH], dtype, 7, 0.5) : null,
            Random([B, H], dtype, 4), g.Cell == RecurrentCell.Lstm ? Random([B, H], dtype, 8) : null,
            Tensor.Full([g.States, B, T, H], 7, dtype), Tensor.Full([B, T, g.CacheWidth], -7, dtype),
            Random([g.States, B, T, H], dtype, 5),
            gradShapes.Select((shape, i) => wanted[i] ? Tensor.Full(shape, 3, dtype) : null).ToArray());
    }

    private static void Run(Device device, RecurrentGeometry g, Case c)
    {
        var backend = device.Backend;
        var d = c.Grads;
        backend.RecurrentForward(g, c.X, c.WIh, c.WHh, c.BIh, c.BHh, c.H0, c.C0, c.Output, c.Cache);
        backend.RecurrentBackward(g, c.X, c.WIh, c.WHh, c.H0, c.C0, c.Output, c.Cache, c.GradOutput, d[0], d[1], d[2], d[3], d[4], d[5], d[6]);
    }

    private static void AssertEmulatedMatchesCpu(RecurrentGeometry g, DType dtype, bool biasIh, bool biasHh)
    {
        var (atol, rtol) = dtype == DType.Float64 ? (1e-13, 1e-10) : (1e-6, 1e-4);
        string[] names = ["grad input", "grad h0", "grad c0", "grad weight_ih", "grad weight_hh", "grad bias_ih", "grad bias_hh"];
        using var cpu = Make(g, dtype, biasIh, biasHh);
        using var emulated = cpu.To(Device.Emulated);
        Run(Device.Cpu, g, cpu);
        Run(Device.Emulated, g, emulated);
        string at = $"{g.Cell} ({dtype}, bias_ih {biasIh}, bias_hh {biasHh})";
        Reference.AssertClose(emulated.Output.ToDoubleArray(), cpu.Output.ToDoubleArray(), atol, rtol, $"{at}: output");
        Reference.AssertClose(emulated.Cache.ToDoubleArray(), cpu.Cache.ToDoubleArray(), atol, rtol, $"{at}: cache");
        for (int i = 0; i < names.Length; i++)
            if (cpu.Grads[i] != null)
                Reference.AssertClose(emulated.Grads[i]!.ToDoubleArray(), cpu.Grads[i]!.ToDoubleArray(), atol, rtol, $"{at}: {names[i]}");
    }

    [TestCaseSource(nameof(Cells))]
    public void OnlyBiasIhMatchesTheCpu(RecurrentCell cell) =>
        AssertEmulatedMatchesCpu(new RecurrentGeometry(cell, 2, 3, 3, 4), DType.Float64, biasIh: true, biasHh: false);

    [TestCaseSource(nameof(Cells))]
    public void OnlyBiasHhMatchesTheCpu(RecurrentCell cell) =>
        AssertEmulatedMatchesCpu(new RecurrentGeometry(cell, 2, 3, 3, 4), DType.Float64, biasIh: false, biasHh: true);

    /// <summary>One batch row, one hidden unit, one input feature: each kernel launches a single thread.</summary>
    [TestCaseSource(nameof(Cells))]
    public void SmallestShapeMatchesTheCpu(RecurrentCell cell) =>
        AssertEmulatedMatchesCpu(new RecurrentGeometry(cell, 1, 4, 1, 1), DType.Float32, biasIh: true, biasHh: true);

    /// <summary>
    /// A two-layer LSTM stack with initial states through the layers' functional form and
    /// autograd, as a model runs it: the recurrent op's saved cache and its backward on the
    /// emulated device give the CPU's gradients for every input, state and weight. The LSTM only
    /// (it has the most to carry: the stacked h/c output, c0, c_n): on the emulated device each
    /// run of the stack costs seconds, and the other cells' kernels are checked op by op above.
    /// </summary>
    [Test]
    public void TwoLayerLstmStackThroughAutogradMatchesTheCpu()
    {
        var cpu = StackGradients(RecurrentCell.Lstm, Device.Cpu);
        var emulated = StackGradients(RecurrentCell.Lstm, Device.Emulated);
        for (int i = 0; i < cpu.Count; i++)
            Reference.AssertClose(emulated[i], cpu[i], 1e-12, 1e-9, $"lstm: gradient of input {i}");
    }

    /// <summary>Loss = Σ output² + Σ h_n (+ Σ c_n); returns the gradient of x, h0, (c0) and each layer's weights, in float64.</summary>
    private static List<double[]> StackGradients(RecurrentCell cell, Device device)
    {
        const int batch = 2, steps = 3, input = 3, hidden = 4, layers = 2;
        int gates = new RecurrentGeometry(cell, batch, steps, input, hidden).Gates;
        using var scope = new TensorScope();
        int seed = 1;
        Tensor Leaf(params int[] shape)
        {
            var t = Reference.Random(shape, device, seed++, DType.Float64);
            t.RequiresGrad = true;
            return t;
        }
        var leaves = new List<Tensor> { Leaf(batch, steps, input), Leaf(layers, batch, hidden) };
        var c0 = cell == RecurrentCell.Lstm ? Leaf(layers, batch, hidden) : null;
        if (c0 != null) leaves.Add(c0);
        var weights = new List<RecurrentWeights>();
        for (int k = 0; k < layers; k++)
        {
            var w = new RecurrentWeights(Leaf(gates * hidden, k == 0 ? input : hidden), Leaf(gates * hidden, hidden), Leaf(gates * hidden), Leaf(gates * hidden));
            weights.Add(w);
            leaves.AddRange([w.WeightIh, w.WeightHh, w.BiasIh!, w.BiasHh!]);
        }
        var r = RecurrentLayer.Run(cell, leaves[0], leaves[1], c0, weights);
        var loss = r.Output.Square().Sum() + r.Hidden.Sum();
        if (r.Cell != null) loss = loss + r.Cell.Sum();
        loss.Backward();
        return leaves.Select(t => t.Grad!.ToDoubleArray()).ToList();
    }
}
