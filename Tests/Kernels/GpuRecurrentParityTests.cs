using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Kernels;

/// <summary>
/// The GPU backend's recurrent layers (Kernels/Gpu/Recurrent.cs) and fused optimizer steps (Kernels/Gpu/Optim.cs)
/// against the CPU backend, called directly through IBackend so no other op is involved: inputs
/// are made on the CPU, copied to each GPU device, and every output, cache entry, gradient and
/// optimizer state is compared (float64 to 1e-10 relative, float32 to 1e-4).
/// </summary>
[TestFixture]
public class GpuRecurrentParityTests
{
    private static readonly RecurrentCell[] Cells = [RecurrentCell.Tanh, RecurrentCell.Lstm, RecurrentCell.Gru];

    /// <summary>The devices other than the CPU (<see cref="Devices.Gpus"/>): the emulated one and any GPU.</summary>
    private static List<Device> GpuDevices()
    {
        var devices = Devices.Gpus().ToList();
        if (devices.Count == 0) Assert.Ignore("no GPU device present");
        return devices;
    }

    /// <summary>
    /// Whether <paramref name="device"/> runs <paramref name="dtype"/> (an OpenCL device may lack
    /// float64; a device Device.Available() does not list is taken to have it).
    /// </summary>
    private static bool Supports(Device device, DType dtype) =>
        dtype != DType.Float64 || (Device.Available().FirstOrDefault(d => d.Device == device)?.SupportsFloat64 ?? true);

    private static (double Atol, double Rtol) Tolerance(DType dtype) => dtype == DType.Float64 ? (1e-13, 1e-10) : (1e-6, 1e-4);

    private static void AssertSame(Tensor gpu, Tensor cpu, DType dtype, string what)
    {
        var (atol, rtol) = Tolerance(dtype);
        Reference.AssertClose(gpu.ToDoubleArray(), cpu.ToDoubleArray(), atol, rtol, what);
    }

    private static Tensor Random(int[] shape, DType dtype, ulong seed, double scale = 1) =>
        Tensor.Uniform(shape, -scale, scale, new Generator(seed), dtype, Device.Cpu);

    // ---- Recurrent layers -------------------------------------------------------------------------

    /// <summary>Everything one recurrent forward + backward reads and writes, on one device.</summary>
    private sealed class RecurrentCase : IDisposable
    {
        public required Tensor X, WIh, WHh, H0, Output, Cache, GradOutput;
        public Tensor? BIh, BHh, C0;
        public Tensor?[] Grads = new Tensor?[7];   // dX, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh

        public void Dispose()
        {
            foreach (var t in new[] { X, WIh, WHh, H0, Output, Cache, GradOutput, BIh, BHh, C0 }.Concat(Grads)) t?.Dispose();
        }
    }

    private static int[][] GradShapes(RecurrentGeometry g) =>
    [
        [g.Batch, g.Steps, g.InputSize], [g.Batch, g.HiddenSize], [g.Batch, g.HiddenSize],
        [g.GateWidth, g.InputSize], [g.GateWidth, g.HiddenSize], [g.GateWidth], [g.GateWidth],
    ];

    /// <summary>Inputs for <paramref name="g"/> on the CPU (outputs and gradients filled with junk, which must be overwritten).</summary>
    private static RecurrentCase MakeInputs(RecurrentGeometry g, DType dtype, bool bias, bool[] wanted)
    {
        int B = g.Batch, T = g.Steps, H = g.HiddenSize;
        var c = new RecurrentCase
        {
            X = Random([B, T, g.InputSize], dtype, 1),
            WIh = Random([g.GateWidth, g.InputSize], dtype, 2, 0.6),
            WHh = Random([g.GateWidth, H], dtype, 3, 0.6),
            H0 = Random([B, H], dtype, 4),
            Output = Tensor.Full([g.States, B, T, H], 7, dtype),
            Cache = Tensor.Full([B, T, g.CacheWidth], -7, dtype),
            GradOutput = Random([g.States, B, T, H], dtype, 5),
            BIh = bias ? Random([g.GateWidth], dtype, 6, 0.5) : null,
            BHh = bias ? Random([g.GateWidth], dtype, 7, 0.5) : null,
            C0 = g.Cell == RecurrentCell.Lstm ? Random([B, H], dtype, 8) : null,
        };
        var shapes = GradShapes(g);
        for (int i = 0; i < 7; i++) c.Grads[i] = wanted[i] ? Tensor.Full(shapes[i], 3, dtype) : null;
        return c;
    }

    private static RecurrentCase CopyTo(RecurrentCase c, Device device) => new()
    {
        X = c.X.To(device), WIh = c.WIh.To(device), WHh = c.WHh.To(device), H0 = c.H0.To(device),
        Output = c.Output.To(device), Cache = c.Cache.To(device), GradOutput = c.GradOutput.To(device),
        BIh = c.BIh?.To(device), BHh = c.BHh?.To(device), C0 = c.C0?.To(device),
        Grads = c.Grads.Select(t => t?.To(device)).ToArray(),
    };

    private static void Run(Device device, RecurrentGeometry g, RecurrentCase c)
    {
        var backend = device.Backend;
        backend.RecurrentForward(g, c.X, c.WIh, c.WHh, c.BIh, c.BHh, c.H0, c.C0, c.Output, c.Cache);
        var d = c.Grads;
        backend.RecurrentBackward(g, c.X, c.WIh, c.WHh, c.H0, c.C0, c.Output, c.Cache, c.GradOutput, d[0], d[1], d[2], d[3], d[4], d[5], d[6]);
    }

    private static void AssertRecurrentParity(RecurrentGeometry g, DType dtype, bool bias, bool[] wanted)
    {
        string[] names = ["grad input", "grad h0", "grad c0", "grad weight_ih", "grad weight_hh", "grad bias_ih", "grad bias_hh"];
        foreach (var device in GpuDevices())
        {
            if (!Supports(device, dtype)) continue;
            using var cpu = MakeInputs(g, dtype, bias, wanted);
            using var gpu = CopyTo(cpu, device);
            Run(Device.Cpu, g, cpu);
            Run(device, g, gpu);
            string at = $"{g.Cell} on {device} ({dtype})";
            AssertSame(gpu.Output, cpu.Output, dtype, $"{at}: output");
            AssertSame(gpu.Cache, cpu.Cache, dtype, $"{at}: cache");
            for (int i = 0; i < 7; i++)
                if (wanted[i]) AssertSame(gpu.Grads[i]!, cpu.Grads[i]!, dtype, $"{at}: {names[i]}");
        }
    }

    private static readonly bool[] All = [true, true, true, true, true, true, true];

    [TestCaseSource(nameof(Cells))]
    public void Float64MatchesTheCpu(RecurrentCell cell) =>
        AssertRecurrentParity(new RecurrentGeometry(cell, 3, 5, 4, 6), DType.Float64, bias: true, All);

    [TestCaseSource(nameof(Cells))]
    public void Float32MatchesTheCpu(RecurrentCell cell) =>
        AssertRecurrentParity(new RecurrentGeometry(cell, 3, 5, 4, 6), DType.Float32, bias: true, All);

    [TestCaseSource(nameof(Cells))]
    public void WithoutBiasesMatchesTheCpu(RecurrentCell cell) =>
        AssertRecurrentParity(new RecurrentGeometry(cell, 3, 5, 4, 6), DType.Float64, bias: false, All);

    /// <summary>Sizes past one 16 x 16 tile in every GEMM dimension, and a single step.</summary>
    [TestCaseSource(nameof(Cells))]
    public void LargerThanOneTileMatchesTheCpu(RecurrentCell cell)
    {
        AssertRecurrentParity(new RecurrentGeometry(cell, 5, 7, 19, 17), DType.Float64, bias: true, All);
        AssertRecurrentParity(new RecurrentGeometry(cell, 2, 1, 3, 5), DType.Float64, bias: true, All);
    }

    /// <summary>Gradients left null are skipped; the requested ones are still overwritten.</summary>
    [TestCaseSource(nameof(Cells))]
    public void OnlyRequestedGradientsAreComputed(RecurrentCell cell)
    {
        var g = new RecurrentGeometry(cell, 3, 5, 4, 6);
        AssertRecurrentParity(g, DType.Float64, bias: true, [false, true, false, false, true, false, true]);
        AssertRecurrentParity(g, DType.Float64, bias: true, [true, false, false, true, false, true, false]);
        AssertRecurrentParity(g, DType.Float64, bias: true, [false, false, false, false, false, false, false]);
    }

    // ---- Optimizer steps ---------------------------------------------------------------------------

    private static IEnumerable<TestCaseData> OptimizerCases()
    {
        var sgd = new OptimizerHyper(0.1);
        yield return new TestCaseData(OptimizerKind.Sgd, sgd).SetName("Sgd_Plain");
        yield return new TestCaseData(OptimizerKind.Sgd, sgd with { Momentum = 0.9 }).SetName("Sgd_Momentum");
        yield return new TestCaseData(OptimizerKind.Sgd, sgd with { Momentum = 0.9, Dampening = 0.3 }).SetName("Sgd_MomentumDampening");
        yield return new TestCaseData(OptimizerKind.Sgd, sgd with { WeightDecay = 0.05 }).SetName("Sgd_WeightDecay");
        yield return new TestCaseData(OptimizerKind.Sgd, sgd with { Momentum = 0.8, WeightDecay = 0.05, Nesterov = true }).SetName("Sgd_NesterovWeightDecay");
        var adam = new OptimizerHyper(0.01);
        yield return new TestCaseData(OptimizerKind.Adam, adam).SetName("Adam_Plain");
        yield return new TestCaseData(OptimizerKind.Adam, adam with { WeightDecay = 0.1, Beta1 = 0.8, Beta2 = 0.95, Eps = 1e-6 }).SetName("Adam_WeightDecay");
        yield return new TestCaseData(OptimizerKind.AdamW, adam with { WeightDecay = 0.1 }).SetName("AdamW_WeightDecay");
        yield return new TestCaseData(OptimizerKind.AdamW, adam).SetName("AdamW_NoDecay");
        var rms = new OptimizerHyper(0.01);
        yield return new TestCaseData(OptimizerKind.RmsProp, rms).SetName("RmsProp_Plain");
        yield return new TestCaseData(OptimizerKind.RmsProp, rms with { WeightDecay = 0.05, Momentum = 0.9, Alpha = 0.9 }).SetName("RmsProp_WeightDecayMomentum");
    }

    /// <summary>Which state tensors a kind reads (see OptimizerHyper).</summary>
    private static (bool State1, bool State2) States(OptimizerKind kind, OptimizerHyper h) => kind switch
    {
        OptimizerKind.Sgd => (h.Momentum != 0, false),
        OptimizerKind.RmsProp => (true, h.Momentum != 0),
        _ => (true, true),
    };

    [TestCaseSource(nameof(OptimizerCases))]
    public void OptimizerStepMatchesTheCpu(OptimizerKind kind, OptimizerHyper h)
    {
        foreach (var device in GpuDevices())
            foreach (var dtype in new[] { DType.Float64, DType.Float32 })
            {
                if (!Supports(device, dtype)) continue;
                const int n = 1037;   // four groups of 256 and a ragged tail
                var (s1, s2) = States(kind, h);
                using var p = Random([n], dtype, 11);
                using var st1 = s1 ? Tensor.Zeros([n], dtype) : null;
                using var st2 = s2 ? Tensor.Zeros([n], dtype) : null;
                using var gp = p.To(device);
                using var gs1 = st1?.To(device);
                using var gs2 = st2?.To(device);
                for (int step = 1; step <= 3; step++)
                {
                    using var grad = Random([n], dtype, (ulong)(20 + step), step);
                    using var gg = grad.To(device);
                    var hs = h with { Step = step };
                    Device.Cpu.Backend.OptimizerStep(kind, p, grad, st1, st2, hs);
                    device.Backend.OptimizerStep(kind, gp, gg, gs1, gs2, hs);
                }
                string at = $"{kind} on {device} ({dtype})";
                AssertSame(gp, p, dtype, $"{at}: parameter");
                if (st1 != null) AssertSame(gs1!, st1, dtype, $"{at}: state1");
                if (st2 != null) AssertSame(gs2!, st2, dtype, $"{at}: state2");
            }
    }

    [Test]
    public void OptimizerStepRejectsMissingState()
    {
        foreach (var device in GpuDevices())
        {
            using var zeros = Tensor.Zeros([5], DType.Float32);
            using var p = zeros.To(device);
            using var g = zeros.To(device);
            // The checks live above the backends, in the one public entry point.
            Assert.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.Sgd, p, g, null, null, new OptimizerHyper(0.1, Momentum: 0.9)));
            Assert.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.Adam, p, g, p, null, new OptimizerHyper(0.1)));
            Assert.Throws<ArgumentOutOfRangeException>(() => FusedOptimizer.Step(OptimizerKind.AdamW, p, g, p, g, new OptimizerHyper(0.1, Step: 0)));
            Assert.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.RmsProp, p, g, null, null, new OptimizerHyper(0.1)));
        }
    }
}
