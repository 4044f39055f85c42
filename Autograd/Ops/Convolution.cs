using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// 2-d convolution (cross-correlation, like every deep-learning library), NCHW input and
/// [out, in, kh, kw] weight. Backward is two more kernels: the input gradient (a transposed
/// convolution) and the weight/bias gradients.
/// </summary>
public static class Convolution
{
    extension(Tensor input)
    {
        /// <summary>Conv2d with the same stride and dilation on both axes; <paramref name="padding"/> is a number of zeros per side, an (int, int), <see cref="Padding.Same"/> or <see cref="Padding.Valid"/> (the default).</summary>
        public Tensor Conv2d(Tensor weight, Tensor? bias = null, int stride = 1, Padding padding = default, int dilation = 1) =>
            input.Conv2d(weight, bias, (stride, stride), padding, (dilation, dilation));

        /// <summary>Conv2d with per-axis (height, width) stride and dilation, and a <see cref="Padding"/> (an (int, int) converts to one).</summary>
        public Tensor Conv2d(Tensor weight, Tensor? bias, (int H, int W) stride, Padding padding, (int H, int W) dilation)
        {
            const string op = "conv2d";
            OpChecks.Rank(op, input, 4, "an NCHW input");
            OpChecks.Rank(op, weight, 4, "an [out, in, kh, kw] weight");
            OpChecks.Floating(op, input);
            OpChecks.SameDType(op, input, weight);
            OpChecks.SameDevice(op, input, weight);
            var x = input.Layout.Shape; var w = weight.Layout.Shape;
            if (x[1] != w[1])
                throw new ArgumentException($"{op}: input has {x[1]} channels (shape {Layout.Format(x)}) but the weight expects {w[1]} (shape {Layout.Format(w)}).");
            if (bias != null && (bias.Rank != 1 || bias.Layout.Shape[0] != w[0]))
                throw new ArgumentException($"{op}: bias must have shape [{w[0]}], got {Layout.Format(bias.Layout.Shape)}.");
            if (bias != null) { OpChecks.SameDType(op, input, bias); OpChecks.SameDevice(op, input, bias); }
            padding.CheckStride(op, stride);
            var (padH, padW) = padding.Resolve(op, (w[2], w[3]), dilation);
            var g = new Conv2dGeometry(x[0], x[1], x[2], x[3], w[0], w[2], w[3], stride.H, stride.W, padH, padW, dilation.H, dilation.W);
            // An empty batch is valid (as for matmul): every other size is still checked, and the
            // kernels, which assume at least one image, are not called.
            (g with { Batch = Math.Max(g.Batch, 1) }).Validate();
            if (g.Batch == 0) return EmptyBatch(input, weight, bias, g);

            using var xc = input.Contiguous();
            using var wc = weight.Contiguous();
            using var bc = bias?.Contiguous();
            var y = Tensor.Empty([g.Batch, g.OutChannels, g.OutHeight, g.OutWidth], input.DType, input.Device);
            input.Backend(op).Conv2d(g, xc, wc, bc, y);
            Tensor[] inputs = bias == null ? [input, weight] : [input, weight, bias];
            return Tape.Record(op, y, inputs, (grad, s) =>
            {
                using var gy = grad.Contiguous();
                Tensor? gx = null, gw = null, gb = null;
                if (input.RequiresGrad)
                {
                    gx = Tensor.Empty(x.ToArray(), gy.DType, gy.Device);
                    gy.Backend(op).Conv2dBackwardInput(g, gy, s[1], gx);
                }
                if (weight.RequiresGrad || bias?.RequiresGrad == true)
                {
                    gw = Tensor.Empty(w.ToArray(), gy.DType, gy.Device);
                    gb = bias == null ? null : Tensor.Empty([w[0]], gy.DType, gy.Device);
                    gy.Backend(op).Conv2dBackwardWeight(g, s[0], gy, gw, gb);
                }
                return bias == null ? [gx, gw] : [gx, gw, gb];
            }, xc, wc);
        }
    }

    /// <summary>
    /// Conv2d of a batch of no images: an empty output; backward gives an empty input gradient and
    /// zero weight and bias gradients (a sum over no images).
    /// </summary>
    private static Tensor EmptyBatch(Tensor input, Tensor weight, Tensor? bias, Conv2dGeometry g)
    {
        var y = Tensor.Empty([0, g.OutChannels, g.OutHeight, g.OutWidth], input.DType, input.Device);
        Tensor[] inputs = bias == null ? [input, weight] : [input, weight, bias];
        return Tape.Record("conv2d", y, inputs, (grad, _) =>
            inputs.Select(t => (Tensor?)Tensor.Zeros(t.Shape, grad.DType, grad.Device)).ToArray());
    }
}
