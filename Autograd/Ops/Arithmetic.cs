using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// Binary arithmetic with NumPy broadcasting, the operators that call it, comparisons and where.
/// Backward: the gradient of a broadcast input is the output gradient summed back to its shape.
/// </summary>
public static class Arithmetic
{
    extension(Tensor a)
    {
        /// <summary>a + b</summary>
        public static Tensor operator +(Tensor x, Tensor y) => x.Add(y);
        /// <summary>a - b</summary>
        public static Tensor operator -(Tensor x, Tensor y) => x.Sub(y);
        /// <summary>a * b</summary>
        public static Tensor operator *(Tensor x, Tensor y) => x.Mul(y);
        /// <summary>a / b</summary>
        public static Tensor operator /(Tensor x, Tensor y) => x.Div(y);
        /// <summary>-a</summary>
        public static Tensor operator -(Tensor x) => x.Neg();
        /// <summary>a + s</summary>
        public static Tensor operator +(Tensor x, double s) => WithScalar(x, s, "add", (t, c) => t.Add(c));
        /// <summary>s + a</summary>
        public static Tensor operator +(double s, Tensor x) => WithScalar(x, s, "add", (t, c) => c.Add(t));
        /// <summary>a - s</summary>
        public static Tensor operator -(Tensor x, double s) => WithScalar(x, s, "sub", (t, c) => t.Sub(c));
        /// <summary>s - a</summary>
        public static Tensor operator -(double s, Tensor x) => WithScalar(x, s, "sub", (t, c) => c.Sub(t));
        /// <summary>a * s</summary>
        public static Tensor operator *(Tensor x, double s) => WithScalar(x, s, "mul", (t, c) => t.Mul(c));
        /// <summary>s * a</summary>
        public static Tensor operator *(double s, Tensor x) => WithScalar(x, s, "mul", (t, c) => c.Mul(t));
        /// <summary>a / s</summary>
        public static Tensor operator /(Tensor x, double s) => WithScalar(x, s, "div", (t, c) => t.Div(c));
        /// <summary>s / a</summary>
        public static Tensor operator /(double s, Tensor x) => WithScalar(x, s, "div", (t, c) => c.Div(t));

        /// <summary>A rank-0 tensor with this tensor's dtype and device.</summary>
        public Tensor ScalarLike(double value) => Tensor.Full([], value, a.DType, a.Device);

        /// <summary>Elementwise sum with broadcasting.</summary>
        public Tensor Add(Tensor b) =>
            Tape.Record("add", Forward(BinaryOp.Add, "add", a, b), [a, b],
                (g, _) => [g.SumTo(a.Layout.Shape), g.SumTo(b.Layout.Shape)]);

        /// <summary>Elementwise difference with broadcasting.</summary>
        public Tensor Sub(Tensor b) =>
            Tape.Record("sub", Forward(BinaryOp.Sub, "sub", a, b), [a, b],
                (g, _) => [g.SumTo(a.Layout.Shape), g.Neg().SumTo(b.Layout.Shape)]);

        /// <summary>Elementwise product with broadcasting.</summary>
        public Tensor Mul(Tensor b) =>
            Tape.Record("mul", Forward(BinaryOp.Mul, "mul", a, b), [a, b],
                (g, s) => [a.RequiresGrad ? (g * s[1]).SumTo(a.Layout.Shape) : null, b.RequiresGrad ? (g * s[0]).SumTo(b.Layout.Shape) : null],
                a, b);

        /// <summary>Elementwise quotient with broadcasting.</summary>
        public Tensor Div(Tensor b)
        {
            OpChecks.NonZeroDivisor("div", b);
            return Tape.Record("div", Forward(BinaryOp.Div, "div", a, b), [a, b],
                (g, s) => [a.RequiresGrad ? (g / s[1]).SumTo(a.Layout.Shape) : null, b.RequiresGrad ? (-(g * s[0]) / (s[1] * s[1])).SumTo(b.Layout.Shape) : null],
                a, b);
        }

        /// <summary>Elementwise maximum; the gradient goes to the larger input (split evenly on ties).</summary>
        public Tensor Maximum(Tensor b) => MinMax(a, b, BinaryOp.Maximum, "maximum");

        /// <summary>Elementwise minimum; the gradient goes to the smaller input (split evenly on ties).</summary>
        public Tensor Minimum(Tensor b) => MinMax(a, b, BinaryOp.Minimum, "minimum");

        /// <summary>1 where a == b, else 0 (same dtype as the inputs; not differentiable).</summary>
        public Tensor Eq(Tensor b) => Forward(BinaryOp.Equal, "eq", a, b);
        /// <summary>1 where a != b, else 0.</summary>
        public Tensor Ne(Tensor b) => Forward(BinaryOp.NotEqual, "ne", a, b);
        /// <summary>1 where a &lt; b, else 0.</summary>
        public Tensor Lt(Tensor b) => Forward(BinaryOp.Less, "lt", a, b);
        /// <summary>1 where a &lt;= b, else 0.</summary>
        public Tensor Le(Tensor b) => Forward(BinaryOp.LessEqual, "le", a, b);
        /// <summary>1 where a &gt; b, else 0.</summary>
        public Tensor Gt(Tensor b) => Forward(BinaryOp.Greater, "gt", a, b);
        /// <summary>1 where a &gt;= b, else 0.</summary>
        public Tensor Ge(Tensor b) => Forward(BinaryOp.GreaterEqual, "ge", a, b);
        /// <summary>1 where a == s, else 0.</summary>
        public Tensor Eq(double s) => WithScalar(a, s, "eq", (t, c) => t.Eq(c));
        /// <summary>1 where a &gt; s, else 0.</summary>
        public Tensor Gt(double s) => WithScalar(a, s, "gt", (t, c) => t.Gt(c));
        /// <summary>1 where a &lt; s, else 0.</summary>
        public Tensor Lt(double s) => WithScalar(a, s, "lt", (t, c) => t.Lt(c));
        /// <summary>1 where a != s, else 0.</summary>
        public Tensor Ne(double s) => WithScalar(a, s, "ne", (t, c) => t.Ne(c));
        /// <summary>1 where a &lt;= s, else 0.</summary>
        public Tensor Le(double s) => WithScalar(a, s, "le", (t, c) => t.Le(c));
        /// <summary>1 where a &gt;= s, else 0.</summary>
        public Tensor Ge(double s) => WithScalar(a, s, "ge", (t, c) => t.Ge(c));

        /// <summary>Picks <paramref name="ifTrue"/> where this (the condition) is non-zero, else <paramref name="ifFalse"/>.</summary>
        public Tensor Where(Tensor ifTrue, Tensor ifFalse)
        {
            const string op = "where";
            OpChecks.SameDevice(op, ifTrue, ifFalse);
            OpChecks.SameDevice(op, a, ifTrue);
            OpChecks.SameDType(op, ifTrue, ifFalse);
            var shape = OpChecks.BroadcastShapes(op, OpChecks.BroadcastShapes(op, a.Layout.Shape, ifTrue.Layout.Shape), ifFalse.Layout.Shape);
            // A condition of another dtype is first reduced to 0/1 in its own dtype: converting it
            // directly truncated non-zero values such as 0.5 (float mask, int branches) or 2^32
            // (int64 mask, int32 branches) to 0, silently picking ifFalse.
            using var cond = a.DType == ifTrue.DType ? a.View(a.Layout, op) : NonZero(a, op).ContiguousCopyAndDispose(op, ifTrue.DType);
            using var c = cond.View(cond.Layout.Expand(shape), op);
            using var x = ifTrue.View(ifTrue.Layout.Expand(shape), op);
            using var y = ifFalse.View(ifFalse.Layout.Expand(shape), op);
            var result = Tensor.Empty(shape, ifTrue.DType, ifTrue.Device);
            result.Backend(op).Where(c, x, y, result);
            return Tape.Record(op, result, [ifTrue, ifFalse], (g, s) =>
            {
                using var zero = g.ScalarLike(0);
                return [s[0].Where(g, zero).SumTo(ifTrue.Layout.Shape), s[0].Where(zero, g).SumTo(ifFalse.Layout.Shape)];
            }, cond);
        }

        /// <summary>Sets elements to <paramref name="value"/> where <paramref name="mask"/> is non-zero (mask broadcasts).</summary>
        public Tensor MaskedFill(Tensor mask, double value)
        {
            using var fill = a.ScalarLike(value);
            return mask.Where(fill, a);
        }

        /// <summary>Sums a broadcast gradient back down to <paramref name="shape"/> (the inverse of broadcasting).</summary>
        public Tensor SumTo(int[] shape)
        {
            // Reshape (a recorded view) rather than a bare View: SumTo is public, and an unrecorded
            // view silently cut the gradient when called outside a backward pass.
            if (a.Layout.Shape.SequenceEqual(shape)) return a.Reshape(shape);
            int lead = a.Rank - shape.Length;
            var axes = Enumerable.Range(0, a.Rank).Where(i => i < lead || (shape[i - lead] == 1 && a.Layout.Shape[i] != 1)).ToArray();
            using var summed = a.Sum(axes, keepDim: true);
            return summed.Reshape(shape);
        }
    }

    /// <summary>
    /// Runs <c>x op s</c> with s as a rank-0 tensor of x's dtype, then disposes that scalar: it used
    /// to be left for the finalizer, so every "x * 2.0" outside a TensorScope leaked a pool buffer
    /// until the next GC (the tape's saved views hold their own reference when backward needs it).
    /// Reading x's storage first also makes a disposed x fail naming the op rather than "dtype".
    /// </summary>
    private static Tensor WithScalar(Tensor x, double value, string op, Func<Tensor, Tensor, Tensor> apply)
    {
        var storage = x.StorageFor(op);
        using var scalar = Tensor.Full([], value, storage.DType, storage.Device);
        return apply(x, scalar);
    }

    /// <summary>1 where x != 0, else 0, in x's dtype (not recorded).</summary>
    private static Tensor NonZero(Tensor x, string op)
    {
        var storage = x.StorageFor(op);
        using var zero = Tensor.Full([], 0, storage.DType, storage.Device);
        return Forward(BinaryOp.NotEqual, op, x, zero);
    }

    private static Tensor ContiguousCopyAndDispose(this Tensor t, string op, DType dtype)
    {
        var copy = t.ContiguousCopy(op, dtype);
        t.Dispose();
        return copy;
    }

    /// <summary>Checks, broadcasts and runs a binary kernel into a new tensor.</summary>
    internal static Tensor Forward(BinaryOp kind, string op, Tensor a, Tensor b)
    {
        OpChecks.SameDevice(op, a, b);
        OpChecks.SameDType(op, a, b);
        var shape = OpChecks.BroadcastShapes(op, a.Layout.Shape, b.Layout.Shape);
        using var x = a.View(a.Layout.Expand(shape), op);
        using var y = b.View(b.Layout.Expand(shape), op);
        var result = Tensor.Empty(shape, a.DType, a.Device);
        result.Backend(op).Binary(kind, x, y, result);
        return result;
    }

    private static Tensor MinMax(Tensor a, Tensor b, BinaryOp kind, string op) =>
        Tape.Record(op, Forward(kind, op, a, b), [a, b], (g, s) =>
        {
            // Share the gradient where a == b, like PyTorch.
            using var aWins = kind == BinaryOp.Maximum ? s[0].Gt(s[1]) : s[0].Lt(s[1]);
            using var tie = s[0].Eq(s[1]);
            using var half = tie * 0.5;
            using var aShare = aWins + half;
            using var bShare = 1.0 - aShare;
            return [(g * aShare).SumTo(a.Layout.Shape), (g * bShare).SumTo(b.Layout.Shape)];
        }, a, b);
}
