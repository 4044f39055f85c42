namespace Tensorium.Optim;

/// <summary>
/// Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_. Both work on the
/// gradients in place (the Grad tensors keep their identity) and skip parameters without one.
/// Every gradient is checked before the first is written, so an error leaves them all unchanged.
/// </summary>
public static class GradClip
{
    /// <summary>
    /// Computes the norm of all gradients together, as if concatenated into one vector (the L2
    /// norm by default; <paramref name="normType"/> may be any p &gt; 0 or +infinity for the max),
    /// and when it exceeds <paramref name="maxNorm"/> scales every gradient by
    /// maxNorm / (norm + 1e-6). Returns the norm before clipping (handy to log).
    /// </summary>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2, bool errorIfNonfinite = false)
    {
        const string op = "clip_grad_norm";
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), $"{op}: expected a non-negative max norm, got {maxNorm}.");
        if (!(normType > 0)) throw new ArgumentOutOfRangeException(nameof(normType), $"{op}: expected a norm type > 0 (or +infinity), got {normType}.");
        var grads = LiveGradients(parameters, op);
        if (grads.Count == 0) return 0;

        double total;
        using (Tape.NoGrad())
        {
            // One small reduction per gradient on its device; only one number per tensor comes
            // back to the host.
            if (double.IsPositiveInfinity(normType))
                total = grads.Max(g => { using var a = g.Abs(); using var m = a.Max(); return m.Item(); });
            else
            {
                double sum = grads.Sum(g =>
                {
                    using var a = normType == 2 ? g * g : PowAbs(g, normType);
                    using var s = a.Sum();
                    return s.Item();
                });
                total = Math.Pow(sum, 1 / normType);
            }
            if (errorIfNonfinite && !double.IsFinite(total))
                throw new InvalidOperationException($"{op}: the total norm of order {normType} of the gradients is {total}; set errorIfNonfinite: false to clip anyway.");
            double coefficient = maxNorm / (total + 1e-6);
            if (coefficient < 1)
                foreach (var g in grads)
                {
                    using var scaled = g * coefficient;
                    g.CopyFrom(scaled);
                }
        }
        return total;
    }

    /// <summary>Clamps every gradient element into [-clipValue, clipValue].</summary>
    public static void ClipGradValue(IEnumerable<Tensor> parameters, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue >= 0)) throw new ArgumentOutOfRangeException(nameof(clipValue), $"clip_grad_value: expected a non-negative clip value, got {clipValue}.");
        var grads = LiveGradients(parameters, "clip_grad_value");
        using (Tape.NoGrad())
            foreach (var g in grads)
            {
                using var clamped = g.Clamp(-clipValue, clipValue);
                g.CopyFrom(clamped);
            }
    }

    /// <summary>
    /// The parameters' gradients, each checked before any is clipped: clipping writes them one by
    /// one, so a disposed gradient found part way would leave the earlier ones clipped.
    /// </summary>
    private static List<Tensor> LiveGradients(IEnumerable<Tensor> parameters, string op)
    {
        var grads = new List<Tensor>();
        int index = 0;
        foreach (var p in parameters)
        {
            if (p.Grad is { } g)
            {
                if (g.IsDisposed)
                    throw new ObjectDisposedException(nameof(Tensor), $"{op}: the gradient of parameter {index}{(p.Name is { } name ? $" ('{name}')" : "")} was disposed; expected a live tensor (or null to skip the parameter).");
                grads.Add(g);
            }
            index++;
        }
        return grads;
    }

    private static Tensor PowAbs(Tensor g, double p)
    {
        using var a = g.Abs();
        return a.Pow(p);
    }
}
