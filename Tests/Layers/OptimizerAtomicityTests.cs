using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>
/// A step that fails changes nothing: every parameter, gradient and state buffer is checked
/// before the first one is written (issue 13, item 4).
/// </summary>
[NonParallelizable]
public class OptimizerAtomicityTests
{
    public static IEnumerable<TestCaseData> Optimizers()
    {
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(p => new Sgd(p, 0.1, momentum: 0.9, weightDecay: 0.01))).SetArgDisplayNames("Sgd");
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(p => new Adam(p, 0.1))).SetArgDisplayNames("Adam");
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(p => new AdamW(p, 0.1))).SetArgDisplayNames("AdamW");
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(p => new RmsProp(p, 0.1, momentum: 0.5))).SetArgDisplayNames("RmsProp");
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

    [TestCaseSource(nameof(Optimizers))]
    public void ABadGradientOnTheLastParameterChangesNothing(Func<Tensor[], Optimizer> create)
    {
        Tensor[] parameters = [Parameter("weight", 1, 2, 3), Parameter("scale", 2, 4), Parameter("bias", 3, 3)];
        try
        {
            using var optimizer = create(parameters);
            SetGradients(parameters, 10);
            optimizer.Step();                              // state and step counts exist now
            SetGradients(parameters, 20);
            parameters[2].Grad!.Dispose();
            parameters[2].Grad = Tensor.Zeros([5], DType.Float64);   // the wrong shape

            var values = parameters.Select(p => p.ToDoubleArray()).ToList();
            var state = Snapshot(optimizer);
            var error = Assert.Catch<InvalidOperationException>(() => optimizer.Step());

            for (int i = 0; i < parameters.Length; i++)
                Assert.That(parameters[i].ToDoubleArray(), Is.EqualTo(values[i]), $"parameter {i} is unchanged");
            Assert.That(Snapshot(optimizer), Is.EqualTo(state), "the optimizer state (buffers and step counts) is unchanged");
            Assert.That(error!.Message, Does.Contain(
                $"{optimizer.GetType().Name}: parameter 2 ('bias') is [3] float64 on cpu but its gradient is [5] float64 on cpu; expected them to match."));

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
