using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// Unary math and activations. Each forward is one kernel call; each backward is the textbook
/// derivative written right under it, in terms of the saved input x or output y.
/// </summary>
public static class ElementwiseMath
{
    extension(Tensor x)
    {
        /// <summary>-x</summary>
        public Tensor Neg() => Tape.Record("neg", Forward(UnaryOp.Neg, x), [x], (g, _) => [g.Neg()]);

        /// <summary>|x|; the gradient at 0 is 0.</summary>
        public Tensor Abs() => Tape.Record("abs", Forward(UnaryOp.Abs, x), [x], (g, s) => [g * s[0].Sign()], x);

        /// <summary>e^x; d/dx = y.</summary>
        public Tensor Exp() => Unary("exp", UnaryOp.Exp, x, (g, x, y) => g * y);

        /// <summary>ln x; d/dx = 1/x.</summary>
        public Tensor Log() => Unary("log", UnaryOp.Log, x, (g, x, y) => g / x);

        /// <summary>sqrt x; d/dx = 1/(2y).</summary>
        public Tensor Sqrt() => Unary("sqrt", UnaryOp.Sqrt, x, (g, x, y) => g / (y * 2.0));

        /// <summary>1/sqrt x; d/dx = -y^3/2.</summary>
        public Tensor Rsqrt() => Unary("rsqrt", UnaryOp.Rsqrt, x, (g, x, y) => g * y * y * y * -0.5);

        /// <summary>x^p for a constant exponent; d/dx = p x^(p-1).</summary>
        public Tensor Pow(double p) => Unary("pow", UnaryOp.Pow, x, (g, x, y) => g * x.Pow(p - 1) * p, p);

        /// <summary>x*x.</summary>
        public Tensor Square() => x.Pow(2);

        /// <summary>tanh x; d/dx = 1 - y^2.</summary>
        public Tensor Tanh() => Unary("tanh", UnaryOp.Tanh, x, (g, x, y) => g * (1.0 - y * y));

        /// <summary>Logistic sigmoid; d/dx = y (1 - y).</summary>
        public Tensor Sigmoid() => Unary("sigmoid", UnaryOp.Sigmoid, x, (g, x, y) => g * y * (1.0 - y));

        /// <summary>max(x, 0); the gradient at 0 is 0 (like PyTorch), passed through in one kernel.</summary>
        public Tensor Relu() => Unary("relu", UnaryOp.Relu, x, (g, x, y) => Arithmetic.Forward(BinaryOp.ReluBackward, "relu_backward", g, x));

        /// <summary>Exact GELU x Phi(x) (PyTorch's default, Keras' approximate=False).</summary>
        public Tensor Gelu() => Unary("gelu", UnaryOp.Gelu, x, (g, x, y) => g * Forward(UnaryOp.GeluGrad, x));

        /// <summary>sin x; d/dx = cos x.</summary>
        public Tensor Sin() => Unary("sin", UnaryOp.Sin, x, (g, x, y) => g * x.Cos());

        /// <summary>cos x; d/dx = -sin x.</summary>
        public Tensor Cos() => Unary("cos", UnaryOp.Cos, x, (g, x, y) => g * x.Sin().Neg());

        /// <summary>-1, 0 or 1 by sign (not differentiable).</summary>
        public Tensor Sign() => Forward(UnaryOp.Sign, x);

        /// <summary>Limits x to [min, max]; the gradient passes only where x is inside.</summary>
        public Tensor Clamp(double min, double max)
        {
            if (min > max) throw new ArgumentException($"clamp: min {min} is greater than max {max}.");
            return Unary("clamp", UnaryOp.Clamp, x, (g, x, y) => g * x.Ge(x.ScalarLike(min)) * x.Le(x.ScalarLike(max)), min, max);
        }
    }

    /// <summary>Runs a unary kernel into a new tensor of x's shape.</summary>
    internal static Tensor Forward(UnaryOp kind, Tensor x, double p0 = 0, double p1 = 0)
    {
        string op = kind.ToString().ToLowerInvariant();
        OpChecks.Floating(op, x);
        var y = Tensor.Empty(x.Layout.Shape.ToArray(), x.DType, x.Device);
        x.Backend(op).Unary(kind, x, y, p0, p1);
        return y;
    }

    /// <summary>Records a unary op whose backward is (grad, x, y) to grad of x; saves x and y.</summary>
    private static Tensor Unary(string op, UnaryOp kind, Tensor x, Func<Tensor, Tensor, Tensor, Tensor> backward, double p0 = 0, double p1 = 0)
    {
        var y = Forward(kind, x, p0, p1);
        return Tape.Record(op, y, [x], (g, s) => [backward(g, s[0], s[1])], x, y);
    }
}
