using Tensorium.Layers;

namespace Tensorium.Tests.Layers;

/// <summary>
/// Float64 gradient check of a whole layer: GradCheck for the inputs, and the same central
/// finite differences for every parameter, perturbed in place (parameters live inside the
/// module, so GradCheck cannot rebuild them as leaves).
/// </summary>
public static class ModuleGradCheck
{
    /// <summary>Checks d sum(f(x) * w)/d(inputs and parameters) against finite differences.</summary>
    public static void AssertGradients(Module module, Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-6, double atol = 1e-6, double rtol = 1e-4)
    {
        foreach (var p in module.Parameters())
            Assert.That(p.DType, Is.EqualTo(DType.Float64), "gradcheck needs a float64 module (call To(DType.Float64))");
        if (inputs.Any(t => t.RequiresGrad)) Reference.AssertGradients(f, inputs);

        using var scope = new TensorScope();
        var constants = inputs.Select(t => t.Detach()).ToArray();   // no input gradients here
        Tensor weights;
        using (Tape.NoGrad())
        using (var probe = f(constants))
            weights = Tensor.Normal(probe.Shape, generator: new Generator(77), dtype: DType.Float64);
        double Loss()
        {
            using var y = f(constants);
            using var weighted = y * weights;
            using var sum = weighted.Sum();
            return sum.Item();
        }

        module.ZeroGrad();
        using (var y = f(constants))
        using (var weighted = y * weights)
        using (var loss = weighted.Sum())
            loss.Backward();

        foreach (var (name, p) in module.NamedParameters())
        {
            var analytic = p.Grad?.ToArray<double>() ?? new double[p.Count];
            var values = p.ToArray<double>();
            for (int j = 0; j < values.Length; j++)
            {
                double Shifted(double delta)
                {
                    var v = (double[])values.Clone();
                    v[j] += delta;
                    using (Tape.NoGrad())
                    {
                        using (var t = Tensor.FromSpan<double>(v, p.Shape)) p.CopyFrom(t);
                        return Loss();
                    }
                }
                double numeric = (Shifted(eps) - Shifted(-eps)) / (2 * eps);
                using (Tape.NoGrad())
                using (var original = Tensor.FromSpan<double>(values, p.Shape))
                    p.CopyFrom(original);
                if (!(Math.Abs(analytic[j] - numeric) <= atol + rtol * Math.Abs(numeric)))
                    Assert.Fail($"gradcheck: parameter '{name}' element {j}: analytic {analytic[j]:G10}, numeric {numeric:G10}.");
            }
        }
        module.ZeroGrad();
    }

    /// <summary>A float64 tensor with <see cref="Reference.Values"/> (times <paramref name="scale"/>, plus <paramref name="offset"/>).</summary>
    public static Tensor Data(int[] shape, int seed, double scale = 1, double offset = 0, bool requiresGrad = false, DType dtype = DType.Float64)
    {
        var v = Reference.Values(shape.Aggregate(1, (a, b) => a * b), seed).Select(x => x * scale + offset).ToArray();
        var t = dtype == DType.Float64 ? Tensor.FromSpan<double>(v, shape) : Tensor.FromSpan<float>(v.Select(x => (float)x).ToArray(), shape);
        t.RequiresGrad = requiresGrad;
        return t;
    }

    /// <summary>Overwrites a parameter or buffer with <paramref name="values"/> (not recorded).</summary>
    public static void Set(Tensor target, double[] values)
    {
        using var _ = Tape.NoGrad();
        using var source = target.DType == DType.Float64
            ? Tensor.FromSpan<double>(values, target.Shape)
            : Tensor.FromSpan<float>(values.Select(x => (float)x).ToArray(), target.Shape);
        target.CopyFrom(source);
    }
}
