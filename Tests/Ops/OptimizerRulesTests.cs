using System.Numerics;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Ops;

/// <summary>
/// The CPU's fused optimizer step (through <see cref="FusedOptimizer.Step"/>) against the scalar
/// contract <see cref="OptimizerRules"/>, element by element, on a length that is not a multiple
/// of the vector width (so the padded tail runs too), in float32 and float64, over a few steps;
/// and the entry point's argument checks, which name the op.
/// </summary>
public class OptimizerRulesTests
{
    private const int N = 37;   // four 8-float vectors and a ragged tail of 5 (9 doubles and 1)

    private static IEnumerable<TestCaseData> Cases()
    {
        var sgd = new OptimizerHyper(0.1);
        yield return new TestCaseData(OptimizerKind.Sgd, sgd).SetName("Sgd_Plain");
        yield return new TestCaseData(OptimizerKind.Sgd, sgd with { Momentum = 0.9 }).SetName("Sgd_Momentum");
        yield return new TestCaseData(OptimizerKind.Sgd, sgd with { Momentum = 0.9, Dampening = 0.3 }).SetName("Sgd_MomentumDampening");
        yield return new TestCaseData(OptimizerKind.Sgd, sgd with { WeightDecay = 0.05 }).SetName("Sgd_WeightDecay");
        yield return new TestCaseData(OptimizerKind.Sgd, sgd with { Momentum = 0.8, Nesterov = true }).SetName("Sgd_Nesterov");
        yield return new TestCaseData(OptimizerKind.Sgd, sgd with { Momentum = 0.8, WeightDecay = 0.05, Nesterov = true }).SetName("Sgd_NesterovWeightDecay");
        var adam = new OptimizerHyper(0.01);
        yield return new TestCaseData(OptimizerKind.Adam, adam).SetName("Adam_Plain");
        yield return new TestCaseData(OptimizerKind.Adam, adam with { WeightDecay = 0.1, Beta1 = 0.8, Beta2 = 0.95, Eps = 1e-6 }).SetName("Adam_WeightDecay");
        yield return new TestCaseData(OptimizerKind.AdamW, adam).SetName("AdamW_NoDecay");
        yield return new TestCaseData(OptimizerKind.AdamW, adam with { WeightDecay = 0.1 }).SetName("AdamW_WeightDecay");
        var rms = new OptimizerHyper(0.01);
        yield return new TestCaseData(OptimizerKind.RmsProp, rms).SetName("RmsProp_Plain");
        yield return new TestCaseData(OptimizerKind.RmsProp, rms with { Momentum = 0.9 }).SetName("RmsProp_Momentum");
        yield return new TestCaseData(OptimizerKind.RmsProp, rms with { WeightDecay = 0.05, Momentum = 0.9, Alpha = 0.9 }).SetName("RmsProp_WeightDecayMomentum");
    }

    [TestCaseSource(nameof(Cases))]
    public void FusedStepMatchesTheScalarRulesInFloat32(OptimizerKind kind, OptimizerHyper h) => Check<float>(kind, h);

    [TestCaseSource(nameof(Cases))]
    public void FusedStepMatchesTheScalarRulesInFloat64(OptimizerKind kind, OptimizerHyper h) => Check<double>(kind, h);

    /// <summary>Which states a kind reads (see <see cref="OptimizerHyper"/>).</summary>
    private static (bool State1, bool State2) States(OptimizerKind kind, OptimizerHyper h) => kind switch
    {
        OptimizerKind.Sgd => (h.Momentum != 0, false),
        OptimizerKind.RmsProp => (true, h.Momentum != 0),
        _ => (true, true),
    };

    private static T[] Values<T>(int seed) where T : IFloatingPointIeee754<T> =>
        Reference.Values(N, seed).Select(T.CreateTruncating).ToArray();

    private static void Check<T>(OptimizerKind kind, OptimizerHyper h) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (useState1, useState2) = States(kind, h);
        // Reference arrays, updated one element at a time by the scalar rules.
        var p = Values<T>(1);
        var s1 = new T[N];
        var s2 = new T[N];
        using var param = Tensor.FromArray(p.ToArray());
        using var state1 = useState1 ? Tensor.FromArray(s1.ToArray()) : null;
        using var state2 = useState2 ? Tensor.FromArray(s2.ToArray()) : null;
        for (int step = 1; step <= 3; step++)
        {
            var g = Values<T>(10 + step).Select(v => v * T.CreateTruncating(step)).ToArray();
            var hs = h with { Step = step };
            using (var grad = Tensor.FromArray(g))
                FusedOptimizer.Step(kind, param, grad, state1, state2, hs);

            var c = new OptimizerCoefficients<T>(hs);
            for (int i = 0; i < N; i++)
                switch (kind)
                {
                    case OptimizerKind.Sgd: OptimizerRules.Sgd(ref p[i], g[i], ref s1[i], c); break;
                    case OptimizerKind.Adam: OptimizerRules.Adam(ref p[i], g[i], ref s1[i], ref s2[i], c, decoupled: false); break;
                    case OptimizerKind.AdamW: OptimizerRules.Adam(ref p[i], g[i], ref s1[i], ref s2[i], c, decoupled: true); break;
                    default: OptimizerRules.RmsProp(ref p[i], g[i], ref s1[i], ref s2[i], c); break;
                }

            // Same constants, same operations in the same order: the SIMD lanes and the tail agree
            // with the scalar rules exactly.
            string at = $"{kind} {typeof(T).Name} step {step}";
            Assert.That(param.ToArray<T>(), Is.EqualTo(p), $"{at}: parameter");
            if (state1 != null) Assert.That(state1.ToArray<T>(), Is.EqualTo(s1), $"{at}: state1");
            if (state2 != null) Assert.That(state2.ToArray<T>(), Is.EqualTo(s2), $"{at}: state2");
        }
    }

    // ---- The entry point's checks ----------------------------------------------------------------

    [Test]
    public void MissingStateAndBadStepCountNameTheOp()
    {
        using var p = Tensor.Zeros([5]);
        using var g = Tensor.Ones([5]);
        using var s = Tensor.Zeros([5]);
        Ref.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.Sgd, p, g, null, null, new OptimizerHyper(0.1, Momentum: 0.9)),
            "sgd: momentum 0.9 needs a momentum buffer, got none.");
        Ref.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.Adam, p, g, s, null, new OptimizerHyper(0.1)),
            "adam: expected both state buffers (exp_avg and exp_avg_sq).");
        Ref.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.AdamW, p, g, null, s, new OptimizerHyper(0.1)),
            "adam: expected both state buffers (exp_avg and exp_avg_sq).");
        Ref.Throws<ArgumentOutOfRangeException>(() => FusedOptimizer.Step(OptimizerKind.Adam, p, g, s, s, new OptimizerHyper(0.1, Step: 0)),
            "adam: expected a step count of at least 1, got 0.");
        Ref.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.RmsProp, p, g, null, null, new OptimizerHyper(0.1)),
            "rmsprop: expected a square_avg buffer, got none.");
        Ref.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.RmsProp, p, g, s, null, new OptimizerHyper(0.1, Momentum: 0.5)),
            "rmsprop: momentum 0.5 needs a momentum buffer, got none.");
        Assert.That(p.ToDoubleArray(), Is.EqualTo(new double[5]), "a rejected step leaves the parameter as it was");
    }

    [Test]
    public void MismatchedTensorsNameTheOpAndChangeNothing()
    {
        using var p = Tensor.Zeros([6]);
        using var g = Tensor.Ones([6]);
        using var s = Tensor.Ones([6]);
        using var short5 = Tensor.Ones([5]);
        using var g64 = Tensor.Ones([6], DType.Float64);
        using var labels = Tensor.Zeros([6], DType.Int64);
        using var matrix = Tensor.Ones([2, 3]);
        using var transposed = matrix.T;
        var sgd = new OptimizerHyper(0.1);
        var adam = new OptimizerHyper(0.1);
        Ref.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.Sgd, labels, labels, null, null, sgd), "sgd", "int64");
        Ref.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.Sgd, p, short5, null, null, sgd), "sgd", "gradient", "[5]", "[6]");
        Ref.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.Sgd, p, g64, null, null, sgd), "sgd", "gradient", "float64", "float32");
        Ref.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.Sgd, p, transposed, null, null, sgd), "sgd", "gradient", "non-contiguous");
        Ref.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.Sgd, transposed, p, null, null, sgd), "sgd", "parameter", "non-contiguous");
        Ref.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.Sgd, p, g, short5, null, sgd with { Momentum = 0.9 }), "sgd", "momentum_buffer", "[5]");
        Ref.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.AdamW, p, g, s, short5, adam), "adamw", "exp_avg_sq", "[5]");
        Ref.Throws<ArgumentException>(() => FusedOptimizer.Step(OptimizerKind.RmsProp, p, g, g64, null, adam), "rmsprop", "square_avg", "float64");
        Assert.That(p.ToDoubleArray(), Is.EqualTo(new double[6]), "a rejected step leaves the parameter as it was");
        Assert.That(s.ToDoubleArray(), Is.EqualTo(Enumerable.Repeat(1.0, 6)), "and its state");
    }

    [Test]
    public void DisposedTensorsNameTheOp()
    {
        using var p = Tensor.Zeros([3]);
        var g = Tensor.Ones([3]);
        g.Dispose();
        Ref.Throws<ObjectDisposedException>(() => FusedOptimizer.Step(OptimizerKind.Sgd, p, g, null, null, new OptimizerHyper(0.1)), "sgd", "Dispose");
    }
}
