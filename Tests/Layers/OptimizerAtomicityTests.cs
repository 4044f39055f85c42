using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>
/// A step that fails changes nothing: every parameter, gradient and state buffer is checked
/// before the first one is written (issue 13, item 4).
/// </summary>
[NonParallelizable]
public class OptimizerAtomicityTests
{
    /// <summary>Every optimizer, fused and composed (AMSGrad, centered RMSprop and Adagrad run tensor ops).</summary>
    private static readonly (string Name, Func<Tensor[], Optimizer> Create)[] All =
    [
        ("Sgd", p => new Sgd(p, 0.1, momentum: 0.9, weightDecay: 0.01)),
        ("Adam", p => new Adam(p, 0.1)),
        ("AdamW", p => new AdamW(p, 0.1)),
        ("RmsProp", p => new RmsProp(p, 0.1, momentum: 0.5)),
        ("AdamAmsGrad", p => new Adam(p, 0.1, weightDecay: 0.01, amsgrad: true)),
        ("AdamWAmsGrad", p => new AdamW(p, 0.1, amsgrad: true)),
        ("RmsPropCentered", p => new RmsProp(p, 0.1, momentum: 0.5, centered: true)),
        ("Adagrad", p => new Adagrad(p, 0.1, weightDecay: 0.01, initialAccumulatorValue: 0.1)),
    ];

    /// <summary>Each optimizer with a bad gradient for the [3] float64 parameter 'bias' and how the error describes it.</summary>
    public static IEnumerable<TestCaseData> BadGradients()
    {
        foreach (var (name, create) in All)
        {
            yield return new TestCaseData(create, (Func<Tensor>)(() => Tensor.Zeros([5], DType.Float64)), "[5] float64 on cpu").SetArgDisplayNames(name, "shape");
            yield return new TestCaseData(create, (Func<Tensor>)(() => Tensor.Zeros([3], DType.Float32)), "[3] float32 on cpu").SetArgDisplayNames(name, "dtype");
        }
    }

    private static Tensor Parameter(string name, int seed, params int[] shape)
    {
        var p = Tensor.Normal(shape, 0, 1, new Generator((ulong)seed), DType.Float64);
        p.RequiresGrad = true;
        p.Name = name;
        return p;
    }

    private static void SetGradients(Tensor[] parameters, int seed)
    {
        for (int i = 0; i < parameters.Length; i++)
        {
            parameters[i].Grad?.Dispose();
            parameters[i].Grad = Tensor.Normal(parameters[i].Shape, 0, 1, new Generator((ulong)(seed + i)), DType.Float64);
        }
    }

    /// <summary>The optimizer's state dict as plain arrays (step counts, buffers, hyper-parameters).</summary>
    private static Dictionary<string, double[]> Snapshot(Optimizer optimizer)
    {
        var state = optimizer.StateDict();
        try
        {
            return state.ToDictionary(kv => kv.Key, kv => kv.Value.ToDoubleArray());
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    [TestCaseSource(nameof(BadGradients))]
    public void ABadGradientOnTheLastParameterChangesNothing(Func<Tensor[], Optimizer> create, Func<Tensor> badGradient, string got)
    {
        Tensor[] parameters = [Parameter("weight", 1, 2, 3), Parameter("scale", 2, 4), Parameter("bias", 3, 3)];
        try
        {
            using var optimizer = create(parameters);
            SetGradients(parameters, 10);
            optimizer.Step();                              // state and step counts exist now
            SetGradients(parameters, 20);
            parameters[2].Grad!.Dispose();
            parameters[2].Grad = badGradient();

            var values = parameters.Select(p => p.ToDoubleArray()).ToList();
            var state = Snapshot(optimizer);
            var error = Assert.Catch<InvalidOperationException>(() => optimizer.Step());

            for (int i = 0; i < parameters.Length; i++)
                Assert.That(parameters[i].ToDoubleArray(), Is.EqualTo(values[i]), $"parameter {i} is unchanged");
            Assert.That(Snapshot(optimizer), Is.EqualTo(state), "the optimizer state (buffers and step counts) is unchanged");
            Assert.That(error!.Message, Does.Contain(
                $"{optimizer.GetType().Name}: parameter 2 ('bias') is [3] float64 on cpu but its gradient is {got}; expected them to match."));

            parameters[2].Grad!.Dispose();
            parameters[2].Grad = Tensor.Zeros([3], DType.Float64);
            optimizer.Step();                              // and the optimizer still works
            Assert.That(parameters[0].ToDoubleArray(), Is.Not.EqualTo(values[0]));
        }
        finally
        {
            foreach (var p in parameters) p.Dispose();
        }
    }

    /// <summary>Adam that fails on parameter <see cref="FailAt"/>: while planning it, or while computing its composed update.</summary>
    private sealed class FailingAdam(Tensor[] parameters, bool amsgrad, bool failInCompute) : Adam(parameters, 0.1, amsgrad: amsgrad)
    {
        public int FailAt { get; set; } = -1;

        protected override ParameterUpdate Plan(int index, long step)
        {
            var plan = base.Plan(index, step);   // creates the parameter's state first
            if (index != FailAt) return plan;
            if (!failInCompute) throw new InvalidOperationException("injected: plan failed");
            return plan is ComposedUpdate composed
                ? new ComposedUpdate((p, g) =>
                {
                    foreach (var (_, value) in composed.Compute(p, g)) value.Dispose();
                    throw new InvalidOperationException("injected: compute failed");
                })
                : throw new InvalidOperationException("injected: plan failed");
        }
    }

    [TestCase(false, false, TestName = "Adam_PlanFailsOnTheLastParameter")]
    [TestCase(true, false, TestName = "AmsGrad_PlanFailsOnTheLastParameter")]
    [TestCase(true, true, TestName = "AmsGrad_ComputeFailsOnTheLastParameter")]
    public void AFailureAfterTheChecksChangesNothing(bool amsgrad, bool failInCompute)
    {
        Tensor[] parameters = [Parameter("weight", 1, 2, 3), Parameter("scale", 2, 4), Parameter("bias", 3, 3)];
        try
        {
            using var optimizer = new FailingAdam(parameters, amsgrad, failInCompute) { FailAt = 2 };
            SetGradients(parameters, 10);
            var values = parameters.Select(p => p.ToDoubleArray()).ToList();

            // The first step fails: the state it created lazily is dropped.
            Assert.Catch<InvalidOperationException>(() => optimizer.Step());
            for (int i = 0; i < parameters.Length; i++)
                Assert.That(parameters[i].ToDoubleArray(), Is.EqualTo(values[i]), $"parameter {i} is unchanged");
            Assert.That(Snapshot(optimizer).Keys.Where(k => k.StartsWith("state.", StringComparison.Ordinal)), Is.Empty, "no state survives a failed first step");

            // A later step fails: parameters, buffers and step counts are as they were.
            optimizer.FailAt = -1;
            optimizer.Step();
            optimizer.FailAt = 2;
            SetGradients(parameters, 20);
            values = parameters.Select(p => p.ToDoubleArray()).ToList();
            var state = Snapshot(optimizer);
            Assert.Catch<InvalidOperationException>(() => optimizer.Step());
            for (int i = 0; i < parameters.Length; i++)
                Assert.That(parameters[i].ToDoubleArray(), Is.EqualTo(values[i]), $"parameter {i} is unchanged");
            Assert.That(Snapshot(optimizer), Is.EqualTo(state), "the optimizer state (buffers and step counts) is unchanged");

            // A buffer left on another dtype by model.To(...) is not moved by a failed step.
            using (Tape.NoGrad())
                foreach (var p in parameters)
                    using (var single = p.To(DType.Float32))
                    {
                        p.Set(single);
                        p.Grad!.Dispose();
                        p.Grad = Tensor.Ones(p.Shape, DType.Float32);
                    }
            Assert.Catch<InvalidOperationException>(() => optimizer.Step());
            Assert.That(Snapshot(optimizer), Is.EqualTo(state), "the float64 buffers keep their float64 values");

            optimizer.FailAt = -1;
            optimizer.Step();                              // and the optimizer still works
            Assert.That(parameters[0].ToDoubleArray(), Is.Not.EqualTo(values[0]));
        }
        finally
        {
            foreach (var p in parameters) p.Dispose();
        }
    }

    [Test]
    public void ClipGradValueWithADisposedGradientChangesNothing()
    {
        Tensor[] parameters = [Parameter("a", 1, 4), Parameter("b", 2, 4), Parameter("c", 3, 4)];
        try
        {
            SetGradients(parameters, 30);
            using (Tape.NoGrad())
                for (int i = 0; i < 2; i++)
                {
                    using var big = parameters[i].Grad! * 100;
                    parameters[i].Grad!.CopyFrom(big);
                }
            parameters[2].Grad!.Dispose();
            var grads = parameters.Take(2).Select(p => p.Grad!.ToDoubleArray()).ToList();
            var error = Assert.Catch<ObjectDisposedException>(() => GradClip.ClipGradValue(parameters, 1));
            for (int i = 0; i < 2; i++)
                Assert.That(parameters[i].Grad!.ToDoubleArray(), Is.EqualTo(grads[i]), $"gradient {i} is unchanged");
            Assert.That(error!.Message, Does.Contain("clip_grad_value: the gradient of parameter 2 ('c') was disposed; expected a live tensor"));
            Ref.Throws<ObjectDisposedException>(() => GradClip.ClipGradNorm(parameters, 1), "clip_grad_norm: the gradient of parameter 2 ('c') was disposed");
            for (int i = 0; i < 2; i++)
                Assert.That(parameters[i].Grad!.ToDoubleArray(), Is.EqualTo(grads[i]), $"gradient {i} is unchanged");
        }
        finally
        {
            foreach (var p in parameters) p.Dispose();
        }
    }
}
