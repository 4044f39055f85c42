using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Kernels.Gpu;

/// <summary>
/// The fused optimizer kernels on the emulated device against the CPU backend, bit for bit, over
/// three steps: every kind with and without its switches (momentum, dampening, Nesterov, L2 or
/// decoupled decay). Both sides run OptimizerRules' formulas with the same host-rounded
/// coefficients, and the CPU accelerator runs the same C# arithmetic, so nothing may differ
/// (GpuRecurrentParityTests.OptimizerStepMatchesTheCpu compares within tolerances, on 1037 elements).
/// </summary>
public class OptimTests
{
    private const int N = 37;   // not a multiple of the CPU's vector width: its tail path runs too

    private static IEnumerable<TestCaseData> Cases()
    {
        var sgd = new OptimizerHyper(0.1);
        var adam = new OptimizerHyper(0.01);
        var rms = new OptimizerHyper(0.01);
        (string Name, OptimizerKind Kind, OptimizerHyper H)[] cases =
        [
            ("Sgd", OptimizerKind.Sgd, sgd),
            ("SgdMomentumDampening", OptimizerKind.Sgd, sgd with { Momentum = 0.9, Dampening = 0.3 }),
            ("SgdNesterovWeightDecay", OptimizerKind.Sgd, sgd with { Momentum = 0.8, WeightDecay = 0.05, Nesterov = true }),
            ("Adam", OptimizerKind.Adam, adam),
            ("AdamWeightDecay", OptimizerKind.Adam, adam with { WeightDecay = 0.1, Beta1 = 0.8, Beta2 = 0.95, Eps = 1e-6 }),
            ("AdamW", OptimizerKind.AdamW, adam with { WeightDecay = 0.1 }),
            ("RmsProp", OptimizerKind.RmsProp, rms),
            ("RmsPropWeightDecayMomentum", OptimizerKind.RmsProp, rms with { WeightDecay = 0.05, Momentum = 0.9, Alpha = 0.9 }),
        ];
        foreach (var (name, kind, h) in cases)
            foreach (var dtype in new[] { DType.Float32, DType.Float64 })
                yield return new TestCaseData(kind, h, dtype).SetArgDisplayNames(name, dtype.ToString());
    }

    [TestCaseSource(nameof(Cases))]
    public void StepMatchesTheCpuExactly(OptimizerKind kind, OptimizerHyper h, DType dtype)
    {
        bool state1 = kind != OptimizerKind.Sgd || h.Momentum != 0;
        bool state2 = kind is OptimizerKind.Adam or OptimizerKind.AdamW || kind == OptimizerKind.RmsProp && h.Momentum != 0;
        using var p = Reference.Random([N], Device.Cpu, 11, dtype);
        using var s1 = state1 ? Tensor.Zeros([N], dtype) : null;
        using var s2 = state2 ? Tensor.Zeros([N], dtype) : null;
        using var ep = p.To(Device.Emulated);
        using var es1 = s1?.To(Device.Emulated);
        using var es2 = s2?.To(Device.Emulated);
        for (int step = 1; step <= 3; step++)
        {
            using var g = Reference.Random([N], Device.Cpu, 20 + step, dtype);
            using var eg = g.To(Device.Emulated);
            var hs = h with { Step = step };
            Device.Cpu.Backend.OptimizerStep(kind, p, g, s1, s2, hs);
            Device.Emulated.Backend.OptimizerStep(kind, ep, eg, es1, es2, hs);
        }
        Assert.That(ep.ToDoubleArray(), Is.EqualTo(p.ToDoubleArray()), "parameter");
        if (s1 != null) Assert.That(es1!.ToDoubleArray(), Is.EqualTo(s1.ToDoubleArray()), "state1");
        if (s2 != null) Assert.That(es2!.ToDoubleArray(), Is.EqualTo(s2.ToDoubleArray()), "state2");
    }
}
