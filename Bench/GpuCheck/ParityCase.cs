namespace Tensorium.GpuCheck;

/// <summary>
/// One op checked on a device against the CPU: the same inputs (made on the CPU, then copied),
/// the same op, and the same upstream gradient; the output and every input gradient must agree
/// within <see cref="Tolerance"/> (relative to the largest reference value, plus absolute).
/// </summary>
/// <param name="Name">What is checked, as printed in the parity table.</param>
/// <param name="Inputs">Builds the CPU inputs; floating inputs get gradients unless <see cref="Differentiable"/> is false.</param>
/// <param name="Op">The op, applied to inputs on either device.</param>
/// <param name="Tolerance">Allowed error, relative to the largest reference magnitude.</param>
/// <param name="Differentiable">Whether to run and compare the backward pass.</param>
/// <param name="Tf32">
/// Runs with <see cref="GpuSettings.AllowTf32"/> on (TF32 products on CUDA devices that have it);
/// every other case runs with it off, so that float32 products are compared at float32 tolerances.
/// </param>
internal sealed record ParityCase(string Name, Func<Tensor[]> Inputs, Func<Tensor[], Tensor> Op, double Tolerance = 1e-4, bool Differentiable = true, bool Tf32 = false);

/// <summary>The outcome of one case on one device.</summary>
internal sealed record ParityResult(string Case, Device Device, double MaxError, double Tolerance, string? Failure)
{
    public bool Passed => Failure == null && MaxError <= Tolerance;
}

/// <summary>Runs <see cref="ParityCase"/>s: forward and backward on the CPU and on a device, compared.</summary>
internal static class Parity
{
    public static ParityResult Run(ParityCase c, Device device)
    {
        try
        {
            using var scope = new TensorScope();
            using var tf32 = new Tf32Scope(c.Tf32);
            var inputs = c.Inputs();   // once: both devices must see the very same numbers
            var (cpuOut, cpuGrads) = Evaluate(c, Device.Cpu, inputs);
            var (devOut, devGrads) = Evaluate(c, device, inputs);
            double error = Compare(devOut, cpuOut);
            for (int i = 0; i < cpuGrads.Length; i++) error = Math.Max(error, Compare(devGrads[i], cpuGrads[i]));
            return new ParityResult(c.Name, device, error, c.Tolerance, null);
        }
        catch (Exception e)
        {
            return new ParityResult(c.Name, device, double.NaN, c.Tolerance, $"{e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
    }

    /// <summary>The op's output and its inputs' gradients under a fixed upstream gradient, all read back to the host.</summary>
    private static (double[] Output, double[][] Grads) Evaluate(ParityCase c, Device device, Tensor[] cpuInputs)
    {
        var inputs = cpuInputs.Select(t => t.Detach().To(device)).ToArray();   // fresh leaves per device
        bool backward = c.Differentiable && inputs.Any(t => t.DType.IsFloating());
        foreach (var t in inputs) t.RequiresGrad = backward && t.DType.IsFloating();
        var y = c.Op(inputs);
        var output = y.ToDoubleArray();
        if (!backward) return (output, []);
        var upstream = Tensor.Uniform(y.Shape, -1, 1, new Generator(7), y.DType).To(device);
        (y * upstream).Sum().Backward();
        return (output, inputs.Where(t => t.RequiresGrad).Select(t => t.Grad?.ToDoubleArray() ?? []).ToArray());
    }

    /// <summary>Largest |a - b| relative to max(1e-3, max |b|); infinite when shapes or NaN positions differ.</summary>
    private static double Compare(double[] actual, double[] expected)
    {
        if (actual.Length != expected.Length) return double.PositiveInfinity;
        double scale = 1e-3, error = 0;
        foreach (var v in expected) if (double.IsFinite(v)) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < actual.Length; i++)
        {
            if (double.IsNaN(expected[i]) != double.IsNaN(actual[i])) return double.PositiveInfinity;
            if (double.IsNaN(expected[i]) || actual[i] == expected[i]) continue;
            error = Math.Max(error, Math.Abs(actual[i] - expected[i]) / scale);
        }
        return error;
    }
}
