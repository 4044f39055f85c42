using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// Layer normalisation (torch.nn.functional.layer_norm) as one fused backend op each way: forward
/// writes y and each row's mean and inverse standard deviation (rstd); backward recomputes
/// x̂ = (x - mean) rstd from the saved input and row statistics and gives dx, dweight and dbias in
/// one kernel, never a chain of eight elementwise and reduction ops with their temporaries.
/// </summary>
public static class LayerNormOp
{
    extension(Tensor x)
    {
        /// <summary>
        /// Normalises x over its last <c>normalizedShape.Length</c> dims (which must equal
        /// <paramref name="normalizedShape"/>) with the biased variance:
        /// y = (x - mean) / sqrt(var + eps) · weight + bias. <paramref name="weight"/> and
        /// <paramref name="bias"/> (shape <paramref name="normalizedShape"/>) are optional.
        /// </summary>
        public Tensor LayerNorm(int[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
        {
            const string op = LayerNormGeometry.OpName;
            OpChecks.Floating(op, x);
            int k = normalizedShape.Length;
            if (k == 0 || normalizedShape.Any(d => d <= 0))
                throw new ArgumentException($"{op}: expected a non-empty normalized shape of positive sizes, got {Layout.Format(normalizedShape)}.");
            var shape = x.Layout.Shape.ToArray();
            if (shape.Length < k || !shape[^k..].SequenceEqual(normalizedShape))
                throw new ArgumentException($"{op}: expected input [..., {string.Join(", ", normalizedShape)}], got {Layout.Format(shape)}.");
            CheckAffine(op, x, weight, "weight", normalizedShape);
            CheckAffine(op, x, bias, "bias", normalizedShape);
            long cols = normalizedShape.Aggregate(1L, (a, b) => a * b);
            if (cols > int.MaxValue)
                throw new ArgumentException($"{op}: expected at most {int.MaxValue} normalized elements per row, got {cols}.");
            var g = new LayerNormGeometry(x.Count / (int)cols, (int)cols, eps);
            g.Validate();

            // The kernels read dense rows: handles on the inputs when they already are, else one copy each.
            var rows = x.AsContiguous(op);
            var w = weight?.AsContiguous(op);
            var b = bias?.AsContiguous(op);
            Tensor? y = null, mean = null, rstd = null;
            try
            {
                y = Tensor.Empty(shape, x.DType, x.Device);
                mean = Tensor.Empty([g.Rows], x.DType, x.Device);
                rstd = Tensor.Empty([g.Rows], x.DType, x.Device);
                if (g.Rows > 0) x.Backend(op).LayerNorm(g, rows, w, b, y, mean, rstd);
            }
            catch
            {
                // Everything made above goes back, an allocation that failed included.
                foreach (var t in new[] { y, mean, rstd, rows, w, b }) t?.Dispose();
                throw;
            }
            Tensor[] saved = w == null ? [rows, mean, rstd] : [rows, mean, rstd, w];
            b?.Dispose();
            var inputs = new List<Tensor>(3) { x };
            if (weight != null) inputs.Add(weight);
            if (bias != null) inputs.Add(bias);
            var result = Tape.Record(op, y, [.. inputs], (grad, s) =>
            {
                // Only the gradients some input asks for are computed (an input can be frozen).
                var gx = x.RequiresGrad ? Tensor.Empty(shape, grad.DType, grad.Device) : null;
                var gw = weight is { RequiresGrad: true } ? Tensor.Empty(normalizedShape, grad.DType, grad.Device) : null;
                var gb = bias is { RequiresGrad: true } ? Tensor.Empty(normalizedShape, grad.DType, grad.Device) : null;
                using (var gy = grad.AsContiguous(op))
                    grad.Backend(op).LayerNormBackward(g, s[0], s.Length > 3 ? s[3] : null, s[1], s[2], gy, gx, gw, gb);
                return weight == null
                    ? bias == null ? [gx] : [gx, gb]
                    : bias == null ? [gx, gw] : [gx, gw, gb];
            }, saved);
            // The tape holds its own handles on what backward needs.
            foreach (var t in saved) t.Dispose();
            return result;
        }
    }

    private static void CheckAffine(string op, Tensor x, Tensor? t, string name, int[] normalizedShape)
    {
        if (t == null) return;
        OpChecks.SameDevice(op, x, t);
        OpChecks.SameDType(op, x, t);
        if (!t.Layout.Shape.SequenceEqual(normalizedShape))
            throw new ArgumentException($"{op}: expected {name} of shape {Layout.Format(normalizedShape)} (the normalized shape), got {Layout.Format(t.Layout.Shape)}.");
    }
}
