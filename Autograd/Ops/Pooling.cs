using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// 2-d max pooling on NCHW input. Forward saves, per output, which input won (argmax); backward
/// is a gather over those winners, so overlapping windows (stride &lt; kernel) are handled.
/// </summary>
public static class Pooling
{
    extension(Tensor input)
    {
        /// <summary>Max pool with a square window; stride defaults to the window size.</summary>
        public Tensor MaxPool2d(int kernel, int? stride = null, int padding = 0) =>
            input.MaxPool2d((kernel, kernel), (stride ?? kernel, stride ?? kernel), (padding, padding));

        /// <summary>Max pool with per-axis (height, width) window, stride and padding.</summary>
        public Tensor MaxPool2d((int H, int W) kernel, (int H, int W) stride, (int H, int W) padding)
        {
            const string op = "max_pool2d";
            OpChecks.Rank(op, input, 4, "an NCHW input");
            OpChecks.Floating(op, input);
            var x = input.Layout.Shape;
            var g = new Pool2dGeometry(x[0], x[1], x[2], x[3], kernel.H, kernel.W, stride.H, stride.W, padding.H, padding.W);
            g.Validate();
            using var xc = input.Contiguous();
            var y = Tensor.Empty([g.Batch, g.Channels, g.OutHeight, g.OutWidth], input.DType, input.Device);
            using var argmax = Tensor.Empty(y.Layout.Shape.ToArray(), DType.Int32, input.Device);
            input.Backend(op).MaxPool2d(g, xc, y, argmax);
            return Tape.Record(op, y, [input], (grad, s) =>
            {
                using var gy = grad.Contiguous();
                var gx = Tensor.Empty(x.ToArray(), gy.DType, gy.Device);
                gy.Backend(op).MaxPool2dBackward(g, gy, s[0], gx);
                return [gx];
            }, argmax);
        }
    }
}
