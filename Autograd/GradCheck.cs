namespace Tensorium;

/// <summary>
/// Checks an op's backward against central finite differences in float64. The function's output
/// is reduced to a scalar with fixed random weights (L = sum(f(x) * w)), so every output element
/// contributes; then dL/dx from Backward() must match (L(x + eps) - L(x - eps)) / 2eps per element.
/// </summary>
public static class GradCheck
{
    /// <summary>
    /// Returns null when every input with RequiresGrad passes, else a message naming the first
    /// element whose analytic and numeric derivatives differ by more than atol + rtol |numeric|.
    /// Inputs must be float64, on any one device; they are not modified.
    /// </summary>
    /// <param name="f">The function under test; called twice per checked element.</param>
    /// <param name="inputs">The inputs; those with RequiresGrad are checked.</param>
    /// <param name="eps">The finite-difference step.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance (of the numeric derivative).</param>
    /// <param name="elementsPerInput">
    /// When set, checks only that many elements of each input, spread evenly from the first to the
    /// last, instead of all of them: each checked element costs two evaluations of
    /// <paramref name="f"/>, which on a slow device (the emulated one) or a large input adds up.
    /// The analytic gradient is still computed whole, by one backward pass.
    /// </param>
    public static string? Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-6, double atol = 1e-6, double rtol = 1e-4,
        int? elementsPerInput = null)
    {
        if (elementsPerInput is < 1)
            throw new ArgumentOutOfRangeException(nameof(elementsPerInput), elementsPerInput, "gradcheck: elementsPerInput must be at least 1.");
        foreach (var t in inputs)
            if (t.DType != DType.Float64)
                throw new ArgumentException($"gradcheck: inputs must be float64 for exact finite differences, got {t.DType.Name()}.");
        using var scope = new TensorScope();
        var data = inputs.Select(t => t.ToArray<double>()).ToArray();
        Tensor[] Leaves(int perturbed = -1, int element = -1, double delta = 0) =>
            inputs.Select((t, i) =>
            {
                var values = (double[])data[i].Clone();
                if (i == perturbed) values[element] += delta;
                var leaf = Tensor.FromSpan<double>(values, t.Layout.Shape.ToArray(), t.Device);
                leaf.RequiresGrad = t.RequiresGrad && perturbed < 0;
                return leaf;
            }).ToArray();

        Tensor weights;
        using (Tape.NoGrad())
        using (var probe = f(Leaves()))
            weights = Tensor.Normal(probe.Shape, generator: new Generator(20240607), dtype: DType.Float64, device: probe.Device);
        double Loss(Tensor[] xs)
        {
            using var y = f(xs);
            using var weighted = y * weights;
            using var sum = weighted.Sum();
            return sum.Item();
        }

        var leaves = Leaves();
        using (var y = f(leaves))
        using (var weighted = y * weights)
        using (var loss = weighted.Sum())
        {
            if (!loss.RequiresGrad) return "gradcheck: the output does not depend on any input that requires a gradient.";
            loss.Backward();
        }

        for (int i = 0; i < inputs.Length; i++)
        {
            if (!inputs[i].RequiresGrad) continue;
            var analytic = leaves[i].Grad?.ToArray<double>() ?? new double[data[i].Length];
            foreach (int j in CheckedElements(data[i].Length, elementsPerInput))
            {
                double plus, minus;
                using (Tape.NoGrad())
                {
                    plus = Loss(Leaves(i, j, eps));
                    minus = Loss(Leaves(i, j, -eps));
                }
                double numeric = (plus - minus) / (2 * eps);
                if (!(Math.Abs(analytic[j] - numeric) <= atol + rtol * Math.Abs(numeric)))
                    return $"gradcheck: input {i} (shape {Layout.Format(inputs[i].Layout.Shape)}) element {j}: analytic {analytic[j]:G10}, numeric {numeric:G10}.";
            }
        }
        return null;
    }

    /// <summary>Every element index, or <paramref name="limit"/> of them spread evenly over [0, count) with both ends included.</summary>
    private static IEnumerable<int> CheckedElements(int count, int? limit)
    {
        if (limit is not int k || k >= count)
        {
            for (int j = 0; j < count; j++) yield return j;
            yield break;
        }
        int previous = -1;
        for (int s = 0; s < k; s++)
        {
            int j = k == 1 ? 0 : (int)((long)s * (count - 1) / (k - 1));
            if (j != previous) yield return j;
            previous = j;
        }
    }
}
