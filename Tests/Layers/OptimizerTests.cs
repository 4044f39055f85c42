using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>
/// SGD, Adam, AdamW and RMSprop against the torch.optim update rules written out in plain double
/// arithmetic (one element at a time, no tensors), over a few steps with fixed gradients; state
/// dicts, skipped parameters, errors, and gradient clipping against hand-computed norms.
/// </summary>
public class OptimizerTests
{
    // ---- Plain references: the PyTorch formulas, element by element ---------------------------

    /// <summary>torch.optim.SGD for one step; <paramref name="buf"/> is null until the first step with momentum.</summary>
    private static void SgdReference(double[] p, double[] g, ref double[]? buf, double lr, double momentum, double dampening, double wd, bool nesterov)
    {
        var first = buf == null;
        buf ??= new double[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            double d = g[i] + wd * p[i];
            if (momentum != 0)
            {
                buf[i] = first ? d : momentum * buf[i] + (1 - dampening) * d;
                d = nesterov ? d + momentum * buf[i] : buf[i];
            }
            p[i] -= lr * d;
        }
    }

    /// <summary>torch.optim.Adam / AdamW for step number <paramref name="t"/> (1-based).</summary>
    private static void AdamReference(double[] p, double[] g, double[] m, double[] v, int t, double lr, double b1, double b2, double eps, double wd, bool decoupled)
    {
        for (int i = 0; i < p.Length; i++)
        {
            double gi = g[i];
            if (decoupled) p[i] *= 1 - lr * wd;
            else gi += wd * p[i];
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            double mHat = m[i] / (1 - Math.Pow(b1, t)), vHat = v[i] / (1 - Math.Pow(b2, t));
            p[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);   // eps outside the square root, as in PyTorch
        }
    }

    /// <summary>torch.optim.RMSprop (not centered) for one step.</summary>
    private static void RmsPropReference(double[] p, double[] g, double[] square, double[] buf, double lr, double alpha, double eps, double wd, double momentum)
    {
        for (int i = 0; i < p.Length; i++)
        {
            double gi = g[i] + wd * p[i];
            square[i] = alpha * square[i] + (1 - alpha) * gi * gi;
            double step = gi / (Math.Sqrt(square[i]) + eps);
            if (momentum != 0)
            {
                buf[i] = momentum * buf[i] + step;
                step = buf[i];
            }
            p[i] -= lr * step;
        }
    }

    // ---- Helpers -------------------------------------------------------------------------------

    private static Tensor Parameter(double[] values, DType dtype = DType.Float64)
    {
        var t = Ref.Make(values, [values.Length], Device.Cpu, dtype);
        t.RequiresGrad = true;
        return t;
    }

    private static void SetGrad(Tensor p, double[] g)
    {
        p.ZeroGrad();
        p.Grad = Ref.Make(g, [g.Length], Device.Cpu, p.DType);
        p.Grad.OwnedByParent = true;
    }

    /// <summary>Gradient of step <paramref name="step"/>: fixed pseudo-random values, scaled so steps differ.</summary>
    private static double[] Gradient(int count, int step) => Reference.Values(count, 100 + step).Select(v => v * (1 + step)).ToArray();

    private static readonly double[] Start = [0.5, -1.25, 2.0, 0.0, -0.3];

    // ---- SGD -----------------------------------------------------------------------------------

    [TestCase(0.0, 0.0, 0.0, false, TestName = "Sgd_Plain")]
    [TestCase(0.9, 0.0, 0.0, false, TestName = "Sgd_Momentum")]
    [TestCase(0.9, 0.3, 0.0, false, TestName = "Sgd_MomentumDampening")]
    [TestCase(0.0, 0.0, 0.05, false, TestName = "Sgd_WeightDecay")]
    [TestCase(0.8, 0.0, 0.05, true, TestName = "Sgd_NesterovWeightDecay")]
    public void SgdMatchesTorchFormula(double momentum, double dampening, double wd, bool nesterov)
    {
        const double lr = 0.1;
        using var p = Parameter(Start);
        using var opt = new Sgd([p], lr, momentum, dampening, wd, nesterov);
        var expected = (double[])Start.Clone();
        double[]? buf = null;
        for (int step = 0; step < 3; step++)
        {
            var g = Gradient(Start.Length, step);
            SetGrad(p, g);
            opt.Step();
            SgdReference(expected, g, ref buf, lr, momentum, dampening, wd, nesterov);
            Reference.AssertClose(p.ToDoubleArray(), expected, 1e-14, 1e-12, $"sgd step {step + 1}");
        }
    }

    [Test]
    public void SgdMomentumByHand()
    {
        // p = 1, lr = 0.1, momentum 0.9, gradients 1 then 2:
        // step 1: buf = 1, p = 1 - 0.1 = 0.9; step 2: buf = 0.9 * 1 + 2 = 2.9, p = 0.9 - 0.29 = 0.61.
        using var p = Parameter([1.0]);
        using var opt = new Sgd([p], 0.1, momentum: 0.9);
        SetGrad(p, [1.0]);
        opt.Step();
        Assert.That(p.Item(), Is.EqualTo(0.9).Within(1e-15));
        SetGrad(p, [2.0]);
        opt.Step();
        Assert.That(p.Item(), Is.EqualTo(0.61).Within(1e-15));
    }

    // ---- Adam / AdamW --------------------------------------------------------------------------

    [TestCase(0.0, false, TestName = "Adam_Plain")]
    [TestCase(0.1, false, TestName = "Adam_WeightDecay")]
    [TestCase(0.1, true, TestName = "AdamW_WeightDecay")]
    public void AdamMatchesTorchFormula(double wd, bool decoupled)
    {
        const double lr = 0.01, b1 = 0.8, b2 = 0.95, eps = 1e-3;   // non-default, so each one matters
        using var p = Parameter(Start);
        using Optimizer opt = decoupled ? new AdamW([p], lr, b1, b2, eps, wd) : new Adam([p], lr, b1, b2, eps, wd);
        var expected = (double[])Start.Clone();
        var m = new double[Start.Length];
        var v = new double[Start.Length];
        for (int step = 1; step <= 3; step++)
        {
            var g = Gradient(Start.Length, step);
            SetGrad(p, g);
            opt.Step();
            AdamReference(expected, g, m, v, step, lr, b1, b2, eps, wd, decoupled);
            Reference.AssertClose(p.ToDoubleArray(), expected, 1e-14, 1e-12, $"adam step {step}");
        }
    }

    [Test]
    public void AdamFirstStepMovesEachWeightByLearningRateTimesSign()
    {
        // After one step m_hat = g and v_hat = g², so the step is lr * g / (|g| + eps) ≈ lr * sign(g).
        using var p = Parameter([1.0, 1.0, 1.0]);
        using var opt = new Adam([p], learningRate: 0.5, eps: 0);
        SetGrad(p, [3.0, -0.001, 250.0]);
        opt.Step();
        Reference.AssertClose(p.ToDoubleArray(), [0.5, 1.5, 0.5], 1e-12, 0, "first adam step");
    }

    [Test]
    public void AdamWWithZeroGradientOnlyShrinksWeights()
    {
        // m = v = 0, so only the decoupled decay acts: p *= (1 - lr * wd) each step.
        using var p = Parameter([2.0, -4.0]);
        using var opt = new AdamW([p], learningRate: 0.1, weightDecay: 0.5);
        for (int i = 0; i < 2; i++)
        {
            SetGrad(p, [0.0, 0.0]);
            opt.Step();
        }
        Reference.AssertClose(p.ToDoubleArray(), [2.0 * 0.95 * 0.95, -4.0 * 0.95 * 0.95], 1e-14, 0, "adamw decay");
    }

    [Test]
    public void AdamWDefaultsFollowPyTorch()
    {
        using var p = Parameter([1.0]);
        using var adamW = new AdamW([p]);
        using var adam = new Adam([p]);
        using var rms = new RmsProp([p]);
        using var sgd = new Sgd([p]);
        Assert.Multiple(() =>
        {
            Assert.That((adamW.LearningRate, adamW.Beta1, adamW.Beta2, adamW.Eps, adamW.WeightDecay), Is.EqualTo((1e-3, 0.9, 0.999, 1e-8, 0.01)));
            Assert.That(adam.WeightDecay, Is.EqualTo(0));
            Assert.That((rms.LearningRate, rms.Alpha, rms.Eps, rms.Momentum), Is.EqualTo((1e-2, 0.99, 1e-8, 0.0)));
            Assert.That((sgd.LearningRate, sgd.Momentum), Is.EqualTo((1e-3, 0.0)));
        });
    }

    // ---- RMSprop -------------------------------------------------------------------------------

    [TestCase(0.0, 0.0, TestName = "RmsProp_Plain")]
    [TestCase(0.05, 0.9, TestName = "RmsProp_WeightDecayMomentum")]
    public void RmsPropMatchesTorchFormula(double wd, double momentum)
    {
        const double lr = 0.01, alpha = 0.9, eps = 1e-4;
        using var p = Parameter(Start);
        using var opt = new RmsProp([p], lr, alpha, eps, wd, momentum);
        var expected = (double[])Start.Clone();
        var square = new double[Start.Length];
        var buf = new double[Start.Length];
        for (int step = 0; step < 3; step++)
        {
            var g = Gradient(Start.Length, step);
            SetGrad(p, g);
            opt.Step();
            RmsPropReference(expected, g, square, buf, lr, alpha, eps, wd, momentum);
            Reference.AssertClose(p.ToDoubleArray(), expected, 1e-14, 1e-12, $"rmsprop step {step + 1}");
        }
    }

    // ---- Float32, vector tails and parallel chunks ---------------------------------------------

    [TestCase(37)]        // 4 full float vectors and a tail of 5
    [TestCase(70_001)]    // several parallel chunks, the last one ragged
    public void Float32UpdatesMatchTheDoubleReference(int count)
    {
        var start = Reference.Values(count, 7);
        using var pSgd = Parameter(start, DType.Float32);
        using var pAdam = Parameter(start, DType.Float32);
        using var pRms = Parameter(start, DType.Float32);
        using var sgd = new Sgd([pSgd], 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01);
        using var adam = new AdamW([pAdam], 0.01);
        using var rms = new RmsProp([pRms], 0.01, momentum: 0.5);
        double[] eSgd = Ref.AsFloat(start), eAdam = Ref.AsFloat(start), eRms = Ref.AsFloat(start);
        double[]? buf = null;
        double[] m = new double[count], v = new double[count], sq = new double[count], rbuf = new double[count];
        for (int step = 1; step <= 2; step++)
        {
            var g = Ref.AsFloat(Gradient(count, step));
            foreach (var p in new[] { pSgd, pAdam, pRms }) SetGrad(p, g);
            sgd.Step(); adam.Step(); rms.Step();
            SgdReference(eSgd, g, ref buf, 0.1, 0.9, 0, 0.01, true);
            AdamReference(eAdam, g, m, v, step, 0.01, 0.9, 0.999, 1e-8, 0.01, true);
            RmsPropReference(eRms, g, sq, rbuf, 0.01, 0.99, 1e-8, 0, 0.5);
        }
        Reference.AssertClose(pSgd.ToDoubleArray(), eSgd, 1e-5, 1e-5, "sgd float32");
        Reference.AssertClose(pAdam.ToDoubleArray(), eAdam, 1e-5, 1e-4, "adamw float32");
        Reference.AssertClose(pRms.ToDoubleArray(), eRms, 1e-5, 1e-4, "rmsprop float32");
    }

    // ---- Step, ZeroGrad, skipping, minimising --------------------------------------------------

    [Test]
    public void ParametersWithoutGradientAreSkipped()
    {
        using var a = Parameter([1.0, 2.0]);
        using var b = Parameter([3.0]);
        using var opt = new Adam([a, b], 0.1);
        SetGrad(a, [1.0, 1.0]);
        opt.Step();
        opt.Step();
        Assert.That(b.ToDoubleArray(), Is.EqualTo(new[] { 3.0 }));
        var state = opt.StateDict();
        try
        {
            Assert.That(state.Keys.Where(k => k.StartsWith("state.1.")), Is.Empty, "no state for a parameter never updated");
            Assert.That(state["state.0.step"].Item(), Is.EqualTo(2));
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
        // b's first update is its step 1: a full lr-sized Adam step.
        SetGrad(b, [5.0]);
        opt.Step();
        Assert.That(b.Item(), Is.EqualTo(2.9).Within(1e-7));
    }

    [Test]
    public void ZeroGradDropsGradients()
    {
        using var p = Parameter([1.0]);
        using var opt = new Sgd([p], 0.1);
        SetGrad(p, [1.0]);
        opt.ZeroGrad();
        Assert.That(p.Grad, Is.Null);
        opt.Step();   // nothing to do
        Assert.That(p.Item(), Is.EqualTo(1.0));
    }

    [TestCase("sgd")]
    [TestCase("adam")]
    [TestCase("rmsprop")]
    public void TinyQuadraticIsMinimised(string kind)
    {
        // loss = sum((p - target)²) through the tape; the optimizer must drive p to target.
        double[] target = [1.5, -2.0, 0.25];
        using var p = Parameter([0.0, 0.0, 0.0]);
        using var goal = Tensor.FromArray(target);
        using Optimizer opt = kind switch
        {
            "sgd" => new Sgd([p], 0.1, momentum: 0.5),
            "adam" => new Adam([p], 0.1),
            _ => new RmsProp([p], 0.03),
        };
        double first = 0, last = 0;
        for (int i = 0; i < 300; i++)
        {
            using var scope = new TensorScope();
            opt.ZeroGrad();
            var loss = (p - goal).Square().Sum();
            if (i == 0) first = loss.Item();
            last = loss.Item();
            loss.Backward();
            opt.Step();
        }
        Assert.That(last, Is.LessThan(first * 1e-4), $"{kind}: loss went from {first} to {last}");
        Reference.AssertClose(p.ToDoubleArray(), target, 0.02, 0, kind);
    }

    [Test]
    public void StateSurvivesTensorScopesAndDisposeFreesIt()
    {
        using var p = Parameter([1.0, 2.0, 3.0]);
        SetGrad(p, [1.0, 1.0, 1.0]);
        long before = Reference.SettledLiveBuffers();
        var opt = new Adam([p], 0.1);
        using (new TensorScope()) opt.Step();   // buffers are created inside a scope...
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before + 2), "exp_avg and exp_avg_sq live on");
        opt.Step();                              // ...and still usable after it
        opt.Dispose();
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before));
        Assert.Throws<ObjectDisposedException>(() => opt.Step());
    }

    // ---- State dict ----------------------------------------------------------------------------

    [TestCase("sgd")]
    [TestCase("adam")]
    [TestCase("adamw")]
    [TestCase("rmsprop")]
    public void StateDictRoundTripContinuesIdentically(string kind)
    {
        Optimizer Make(Tensor p, double lr) => kind switch
        {
            "sgd" => new Sgd([p], lr, momentum: 0.9, dampening: 0.1),
            "adam" => new Adam([p], lr, weightDecay: 0.01),
            "adamw" => new AdamW([p], lr),
            _ => new RmsProp([p], lr, momentum: 0.5),
        };
        using var original = Parameter(Start);
        using var optA = Make(original, 0.05);
        for (int step = 0; step < 2; step++)
        {
            SetGrad(original, Gradient(Start.Length, step));
            optA.Step();
        }
        // A fresh parameter with the same values and a fresh optimizer (different lr: the dict
        // restores it) loaded from the state dict.
        using var copy = Parameter(original.ToDoubleArray());
        using var optB = Make(copy, 1.0);
        var state = optA.StateDict();
        try
        {
            Assert.That(state.Keys, Does.Contain("state.0.step").And.Contain("hyper.lr"));
            Assert.That(state["state.0.step"].DType, Is.EqualTo(DType.Int64));
            optB.LoadStateDict(state);
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
        Assert.That(optB.LearningRate, Is.EqualTo(0.05));
        for (int step = 2; step < 4; step++)
        {
            var g = Gradient(Start.Length, step);
            SetGrad(original, g);
            SetGrad(copy, g);
            optA.Step();
            optB.Step();
        }
        Assert.That(copy.ToDoubleArray(), Is.EqualTo(original.ToDoubleArray()), "bit-identical continuation");
    }

    [Test]
    public void StateDictHoldsTheNamedBuffers()
    {
        using var p = Parameter([1.0, -1.0]);
        using var opt = new Adam([p], 0.1, beta1: 0.5);
        SetGrad(p, [2.0, 4.0]);
        opt.Step();
        var state = opt.StateDict();
        try
        {
            Assert.That(state.Keys.Order(), Is.EqualTo(new[] { "hyper.beta1", "hyper.beta2", "hyper.eps", "hyper.lr", "hyper.weight_decay",
                "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.step" }));
            Reference.AssertClose(state["state.0.exp_avg"].ToDoubleArray(), [1.0, 2.0], 1e-15, 0, "exp_avg = (1 - 0.5) g");
            Reference.AssertClose(state["state.0.exp_avg_sq"].ToDoubleArray(), [0.004, 0.016], 1e-15, 1e-12, "exp_avg_sq = 0.001 g²");
            Assert.That(state["hyper.beta1"].Item(), Is.EqualTo(0.5));
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    [Test]
    public void LoadStateDictRejectsBadInputAndChangesNothing()
    {
        using var p = Parameter([1.0, 2.0]);
        using var opt = new Sgd([p], 0.1, momentum: 0.9);
        using var wrongShape = Tensor.Zeros([3], DType.Float64);
        using var lr = Tensor.Scalar(0.5, DType.Float64);
        Ref.Throws<ArgumentException>(() => opt.LoadStateDict(new Dictionary<string, Tensor> { ["hyper.lr"] = lr, ["state.0.momentum_buffer"] = wrongShape }),
            "Sgd", "state.0.momentum_buffer", "[3]", "[2]");
        Ref.Throws<ArgumentException>(() => opt.LoadStateDict(new Dictionary<string, Tensor> { ["state.5.momentum_buffer"] = wrongShape }), "Sgd", "state.5");
        Ref.Throws<ArgumentException>(() => opt.LoadStateDict(new Dictionary<string, Tensor> { ["state.0.exp_avg"] = wrongShape }), "state.0.exp_avg");
        Assert.That(opt.LearningRate, Is.EqualTo(0.1), "nothing loaded");
    }

    // ---- Errors --------------------------------------------------------------------------------

    [Test]
    public void BadArgumentsAreRejected()
    {
        using var p = Parameter([1.0]);
        using var labels = Tensor.FromArray(new long[] { 1 });
        Ref.Throws<ArgumentException>(() => new Sgd([]), "Sgd", "empty");
        Ref.Throws<ArgumentException>(() => new Adam([p, p]), "Adam", "more than once");
        Ref.Throws<ArgumentException>(() => new Adam([labels]), "Adam", "int64");
        Ref.Throws<ArgumentOutOfRangeException>(() => new Sgd([p], -1), "Sgd", "learning rate", "-1");
        Ref.Throws<ArgumentException>(() => new Sgd([p], 0.1, nesterov: true), "Sgd", "Nesterov", "momentum");
        Ref.Throws<ArgumentOutOfRangeException>(() => new Adam([p], beta2: 1.0), "Adam", "beta2");
        Ref.Throws<ArgumentOutOfRangeException>(() => new RmsProp([p], alpha: 1.5), "RmsProp", "alpha");
    }

    [Test]
    public void MismatchedGradientIsRejected()
    {
        using var p = Parameter([1.0, 2.0]);
        using var opt = new Sgd([p], 0.1);
        p.Grad = Tensor.Zeros([3], DType.Float64);
        Ref.Throws<InvalidOperationException>(() => opt.Step(), "Sgd", "parameter 0", "[2]", "[3]");
    }

    // ---- Gradient clipping ---------------------------------------------------------------------

    [Test]
    public void ClipGradNormScalesAllGradientsTogether()
    {
        // Gradients [3, 4] and [12]: total L2 norm sqrt(9 + 16 + 144) = 13.
        using var a = Parameter([0.0, 0.0]);
        using var b = Parameter([0.0]);
        using var c = Parameter([0.0]);   // no gradient: ignored
        SetGrad(a, [3.0, 4.0]);
        SetGrad(b, [12.0]);
        var gradA = a.Grad;
        double norm = GradClip.ClipGradNorm([a, b, c], 6.5);
        Assert.That(norm, Is.EqualTo(13).Within(1e-12));
        double k = 6.5 / (13 + 1e-6);
        Reference.AssertClose(a.Grad!.ToDoubleArray(), [3 * k, 4 * k], 1e-14, 0, "a");
        Reference.AssertClose(b.Grad!.ToDoubleArray(), [12 * k], 1e-14, 0, "b");
        Assert.That(a.Grad, Is.SameAs(gradA), "clipped in place");
        Assert.That(c.Grad, Is.Null);
    }

    [Test]
    public void ClipGradNormLeavesSmallGradientsAlone()
    {
        using var a = Parameter([0.0, 0.0]);
        SetGrad(a, [3.0, 4.0]);
        Assert.That(GradClip.ClipGradNorm([a], 5.5), Is.EqualTo(5).Within(1e-12));
        Assert.That(a.Grad!.ToDoubleArray(), Is.EqualTo(new[] { 3.0, 4.0 }));
    }

    [Test]
    public void ClipGradNormOtherOrdersAndFloat32()
    {
        using var a = Parameter([0.0, 0.0], DType.Float32);
        using var b = Parameter([0.0], DType.Float32);
        SetGrad(a, [3.0, -4.0]);
        SetGrad(b, [-2.0]);
        Assert.That(GradClip.ClipGradNorm([a, b], 100, double.PositiveInfinity), Is.EqualTo(4).Within(1e-6));
        Assert.That(GradClip.ClipGradNorm([a, b], 100, 1), Is.EqualTo(9).Within(1e-5));
        Assert.That(GradClip.ClipGradNorm([a, b], 2, double.PositiveInfinity), Is.EqualTo(4).Within(1e-6));
        Reference.AssertClose(a.Grad!.ToDoubleArray(), [1.5, -2.0], 1e-5, 0, "scaled by 2/4");
    }

    [Test]
    public void ClipGradNormCanRefuseNonFiniteNorms()
    {
        using var a = Parameter([0.0]);
        SetGrad(a, [double.PositiveInfinity]);
        Ref.Throws<InvalidOperationException>(() => GradClip.ClipGradNorm([a], 1, errorIfNonfinite: true), "clip_grad_norm", "Infinity");
    }

    [Test]
    public void ClipGradValueClampsElements()
    {
        using var a = Parameter([0.0, 0.0, 0.0]);
        SetGrad(a, [-3.0, 0.5, 7.0]);
        GradClip.ClipGradValue([a], 1.0);
        Assert.That(a.Grad!.ToDoubleArray(), Is.EqualTo(new[] { -1.0, 0.5, 1.0 }));
    }
}
