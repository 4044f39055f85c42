using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>
/// AMSGrad, centered RMSprop, Adagrad and parameter groups against the torch.optim update rules
/// written out in plain double arithmetic, over several steps with fixed gradients.
/// </summary>
public class OptimizerOptionsTests
{
    private static readonly double[] Start = [0.5, -1.25, 2.0, 0.0, -0.3, 0.8, 1.1];

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

    /// <summary>Gradients that shrink from step to step, so AMSGrad's running maximum differs from Adam's average.</summary>
    private static double[] Gradient(int count, int step) => Reference.Values(count, 200 + step).Select(v => v * 4 / (1 + 3 * step)).ToArray();

    /// <summary>torch.optim.Adam/AdamW(amsgrad=True) for step <paramref name="t"/> (1-based).</summary>
    private static void AmsGradReference(double[] p, double[] g, double[] m, double[] v, double[] vMax, int t,
        double lr, double b1, double b2, double eps, double wd, bool decoupled)
    {
        for (int i = 0; i < p.Length; i++)
        {
            double gi = g[i];
            if (decoupled) p[i] *= 1 - lr * wd;
            else gi += wd * p[i];
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            vMax[i] = Math.Max(vMax[i], v[i]);
            p[i] -= lr / (1 - Math.Pow(b1, t)) * m[i] / (Math.Sqrt(vMax[i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps);
        }
    }

    [TestCase(0.0, false)]
    [TestCase(0.1, false)]
    [TestCase(0.1, true)]
    public void AmsGradMatchesTorchFormula(double wd, bool decoupled)
    {
        const double lr = 0.01, b1 = 0.8, b2 = 0.5, eps = 1e-3;   // a short memory, so v falls with the gradients
        using var p = Parameter(Start);
        using Optimizer opt = decoupled ? new AdamW([p], lr, b1, b2, eps, wd, amsgrad: true) : new Adam([p], lr, b1, b2, eps, wd, amsgrad: true);
        var expected = (double[])Start.Clone();
        var m = new double[Start.Length];
        var v = new double[Start.Length];
        var vMax = new double[Start.Length];
        for (int step = 1; step <= 4; step++)
        {
            var g = Gradient(Start.Length, step);
            SetGrad(p, g);
            opt.Step();
            AmsGradReference(expected, g, m, v, vMax, step, lr, b1, b2, eps, wd, decoupled);
            Reference.AssertClose(p.ToDoubleArray(), expected, 1e-14, 1e-12, $"amsgrad step {step}");
        }
        Assert.That(vMax.Zip(v).Any(pair => pair.First > pair.Second * 1.5), "the gradients must make the maximum differ from the average");
        var state = opt.StateDict();
        try
        {
            Reference.AssertClose(state["state.0.max_exp_avg_sq"].ToDoubleArray(), vMax, 1e-15, 1e-12, "max_exp_avg_sq");
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    [Test]
    public void AmsGradInFloat32MatchesTheDoubleReference()
    {
        using var p = Parameter(Start, DType.Float32);
        using var opt = new Adam([p], 0.01, amsgrad: true);
        var expected = Start.Select(x => (double)(float)x).ToArray();
        var (m, v, vMax) = (new double[Start.Length], new double[Start.Length], new double[Start.Length]);
        for (int step = 1; step <= 3; step++)
        {
            var g = Gradient(Start.Length, step).Select(x => (double)(float)x).ToArray();
            SetGrad(p, g);
            opt.Step();
            AmsGradReference(expected, g, m, v, vMax, step, 0.01, 0.9, 0.999, 1e-8, 0, false);
        }
        Reference.AssertClose(p.ToDoubleArray(), expected, 1e-6, 1e-5, "float32 amsgrad");
        Assert.That(p.DType, Is.EqualTo(DType.Float32));
    }

    /// <summary>torch.optim.RMSprop(centered=True) for one step.</summary>
    private static void CenteredRmsPropReference(double[] p, double[] g, double[] square, double[] gradAvg, double[] buf,
        double lr, double alpha, double eps, double wd, double momentum)
    {
        for (int i = 0; i < p.Length; i++)
        {
            double gi = g[i] + wd * p[i];
            square[i] = alpha * square[i] + (1 - alpha) * gi * gi;
            gradAvg[i] = alpha * gradAvg[i] + (1 - alpha) * gi;
            double step = gi / (Math.Sqrt(square[i] - gradAvg[i] * gradAvg[i]) + eps);
            if (momentum != 0)
            {
                buf[i] = momentum * buf[i] + step;
                step = buf[i];
            }
            p[i] -= lr * step;
        }
    }

    [TestCase(0.0, 0.0)]
    [TestCase(0.05, 0.7)]
    public void CenteredRmsPropMatchesTorchFormula(double wd, double momentum)
    {
        const double lr = 0.02, alpha = 0.9, eps = 1e-4;
        using var p = Parameter(Start);
        using var opt = new RmsProp([p], lr, alpha, eps, wd, momentum, centered: true);
        var expected = (double[])Start.Clone();
        var (square, gradAvg, buf) = (new double[Start.Length], new double[Start.Length], new double[Start.Length]);
        for (int step = 1; step <= 4; step++)
        {
            var g = Gradient(Start.Length, step);
            SetGrad(p, g);
            opt.Step();
            CenteredRmsPropReference(expected, g, square, gradAvg, buf, lr, alpha, eps, wd, momentum);
            Reference.AssertClose(p.ToDoubleArray(), expected, 1e-14, 1e-11, $"centered rmsprop step {step}");
        }
        Assert.That(opt.Centered);
    }

    [TestCase(0.0, 0.0, 0.0)]
    [TestCase(0.1, 0.05, 0.5)]
    public void AdagradMatchesTorchFormula(double lrDecay, double wd, double initial)
    {
        const double lr = 0.1, eps = 1e-6;
        using var p = Parameter(Start);
        using var opt = new Adagrad([p], lr, lrDecay, wd, initial, eps);
        var expected = (double[])Start.Clone();
        var sum = Enumerable.Repeat(initial, Start.Length).ToArray();
        for (int step = 1; step <= 4; step++)
        {
            var g = Gradient(Start.Length, step);
            SetGrad(p, g);
            opt.Step();
            double clr = lr / (1 + (step - 1) * lrDecay);
            for (int i = 0; i < Start.Length; i++)
            {
                double gi = g[i] + wd * expected[i];
                sum[i] += gi * gi;
                expected[i] -= clr * gi / (Math.Sqrt(sum[i]) + eps);
            }
            Reference.AssertClose(p.ToDoubleArray(), expected, 1e-14, 1e-12, $"adagrad step {step}");
        }
    }

    [TestCase("amsgrad")]
    [TestCase("centered")]
    [TestCase("adagrad")]
    public void ComposedRulesRoundTripThroughTheStateDict(string kind)
    {
        Optimizer Make(Tensor p, double lr) => kind switch
        {
            "amsgrad" => new Adam([p], lr, amsgrad: true),
            "centered" => new RmsProp([p], lr, momentum: 0.5, centered: true),
            _ => new Adagrad([p], lr, learningRateDecay: 0.1, initialAccumulatorValue: 0.2),
        };
        using var original = Parameter(Start);
        using var optA = Make(original, 0.05);
        for (int step = 0; step < 2; step++)
        {
            SetGrad(original, Gradient(Start.Length, step));
            optA.Step();
        }
        using var copy = Parameter(original.ToDoubleArray());
        using var optB = Make(copy, 1.0);
        var state = optA.StateDict();
        try
        {
            optB.LoadStateDict(state);
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
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
    public void ParameterGroupsHaveTheirOwnLearningRateAndWeightDecay()
    {
        // Group 0 follows the optimizer (lr 0.1, wd 0.01); group 1 has lr 0.5 and wd 0.2; group 2 only its own lr.
        using var a = Parameter([1.0, -2.0]);
        using var b = Parameter([0.5, 3.0, -1.0]);
        using var c = Parameter([2.0]);
        using var opt = new Sgd([a], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01);
        opt.AddParameterGroup(new ParameterGroup([b], learningRate: 0.5, weightDecay: 0.2));
        opt.AddParameterGroup(new ParameterGroup([c], learningRate: 0.05));
        Assert.That(opt.Parameters, Is.EqualTo(new[] { a, b, c }));
        Assert.That(opt.ParameterGroups.Select(g => g.LearningRate), Is.EqualTo(new double?[] { null, 0.5, 0.05 }));

        var tensors = new[] { a, b, c };
        var expected = tensors.Select(t => t.ToDoubleArray()).ToArray();
        var buffers = tensors.Select(t => new double[t.Count]).ToArray();
        (double Lr, double Wd)[] hyper = [(0.1, 0.01), (0.5, 0.2), (0.05, 0.01)];
        for (int step = 0; step < 3; step++)
        {
            for (int k = 0; k < 3; k++)
            {
                var g = Gradient(tensors[k].Count, step + 10 * k);
                SetGrad(tensors[k], g);
                for (int i = 0; i < g.Length; i++)
                {
                    double d = g[i] + hyper[k].Wd * expected[k][i];
                    buffers[k][i] = step == 0 ? d : 0.9 * buffers[k][i] + d;
                    expected[k][i] -= hyper[k].Lr * buffers[k][i];
                }
            }
            opt.Step();
            for (int k = 0; k < 3; k++)
                Reference.AssertClose(tensors[k].ToDoubleArray(), expected[k], 1e-14, 1e-12, $"group {k} step {step + 1}");
        }
    }

    [Test]
    public void GroupHyperParametersRoundTripAndSchedulesScaleEachGroup()
    {
        using var a = Parameter([1.0]);
        using var b = Parameter([2.0]);
        using var opt = new Adam([a], learningRate: 0.1);
        opt.AddParameterGroup(new ParameterGroup([b], learningRate: 0.02, weightDecay: 0.3));
        var schedule = new StepLR(opt, stepSize: 1, gamma: 0.5);
        schedule.Step();
        Assert.That(opt.LearningRate, Is.EqualTo(0.05).Within(1e-15));
        Assert.That(opt.ParameterGroups[1].LearningRate, Is.EqualTo(0.01).Within(1e-15), "each group from its own starting rate");

        var state = opt.StateDict();
        try
        {
            Assert.That(state.Keys, Does.Contain("hyper.group1_lr").And.Contain("hyper.group1_weight_decay"));
            using var a2 = Parameter([1.0]);
            using var b2 = Parameter([2.0]);
            using var other = new Adam([a2], learningRate: 1);
            other.AddParameterGroup(new ParameterGroup([b2], learningRate: 1, weightDecay: 0));
            other.LoadStateDict(state);
            Assert.That(other.ParameterGroups[1].LearningRate, Is.EqualTo(0.01).Within(1e-15));
            Assert.That(other.ParameterGroups[1].WeightDecay, Is.EqualTo(0.3));
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    [Test]
    public void BadGroupsAreRejectedAndChangeNothing()
    {
        using var a = Parameter([1.0]);
        using var b = Parameter([2.0]);
        using var labels = Tensor.FromArray(new long[] { 1 });
        using var opt = new Sgd([a], 0.1);
        Ref.Throws<ArgumentException>(() => opt.AddParameterGroup(new ParameterGroup([b, a])), "Sgd", "more than once", "parameter 2");
        Ref.Throws<ArgumentException>(() => opt.AddParameterGroup(new ParameterGroup([b, labels])), "Sgd", "parameter 2", "int64");
        Ref.Throws<ArgumentException>(() => opt.AddParameterGroup(new ParameterGroup([])), "Sgd", "empty");
        var dead = Parameter([3.0]);
        dead.Name = "dead";
        dead.Dispose();
        Ref.Throws<ObjectDisposedException>(() => opt.AddParameterGroup(new ParameterGroup([b, dead])),
            "Sgd.AddParameterGroup: got a disposed tensor as parameter 2 ('dead'); expected a live tensor.");
        Ref.Throws<ArgumentOutOfRangeException>(() => new ParameterGroup([b], learningRate: -1), "ParameterGroup", "learning rate", "-1");
        Ref.Throws<ArgumentOutOfRangeException>(() => new Adagrad([b], learningRateDecay: double.NaN), "Adagrad", "learning rate decay");
        Assert.That(opt.Parameters, Has.Count.EqualTo(1));
        Assert.That(opt.ParameterGroups, Has.Count.EqualTo(1));
    }

    [TestCase("amsgrad")]
    [TestCase("centered")]
    [TestCase("adagrad")]
    public void TinyQuadraticIsMinimised(string kind)
    {
        double[] target = [1.5, -2.0, 0.25];
        using var p = Parameter([0.0, 0.0, 0.0]);
        using var goal = Tensor.FromArray(target);
        using Optimizer opt = kind switch
        {
            "amsgrad" => new Adam([p], 0.1, amsgrad: true),
            "centered" => new RmsProp([p], 0.01, centered: true),
            _ => new Adagrad([p], 0.5),
        };
        for (int i = 0; i < 300; i++)
        {
            using var scope = new TensorScope();
            opt.ZeroGrad();
            var loss = (p - goal).Square().Sum();
            loss.Backward();
            opt.Step();
        }
        Reference.AssertClose(p.ToDoubleArray(), target, 0.03, 0, kind);
    }
}
