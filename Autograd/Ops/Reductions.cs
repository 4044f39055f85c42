using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// Reductions over any set of axes, with keepDim. Forward: move the reduced axes last, make the
/// tensor a contiguous [kept, reduced] matrix and reduce its rows (sums and means over the
/// leading axes of a contiguous tensor go to the backend's column reduction instead). Backward:
/// broadcast back.
/// </summary>
public static class Reductions
{
    extension(Tensor x)
    {
        /// <summary>Sum over <paramref name="axes"/> (all when none are given).</summary>
        public Tensor Sum(int[]? axes = null, bool keepDim = false) =>
            Tape.Record("sum", Forward(ReduceOp.Sum, "sum", x, axes, keepDim, 0), [x],
                (g, _) => [Unreduce(g, x.Layout.Shape, axes, keepDim, "sum")]);

        /// <summary>Sum over one axis.</summary>
        public Tensor Sum(int axis, bool keepDim = false) => x.Sum([axis], keepDim);

        /// <summary>Mean over <paramref name="axes"/> (all when none are given).</summary>
        public Tensor Mean(int[]? axes = null, bool keepDim = false)
        {
            int n = ReducedCount(x, axes, "mean");
            return Tape.Record("mean", Forward(ReduceOp.Mean, "mean", x, axes, keepDim, 0), [x],
                (g, _) => [Unreduce(g / n, x.Layout.Shape, axes, keepDim, "mean")]);
        }

        /// <summary>Mean over one axis.</summary>
        public Tensor Mean(int axis, bool keepDim = false) => x.Mean([axis], keepDim);

        /// <summary>Variance over <paramref name="axes"/>; correction 1 (default) is unbiased, 0 is the population variance.</summary>
        public Tensor Var(int[]? axes = null, bool keepDim = false, int correction = 1)
        {
            int n = ReducedCount(x, axes, "var");
            var y = Forward(ReduceOp.Var, "var", x, axes, keepDim, correction);
            // d var / dx = 2 (x - mean) / (n - correction)
            return Tape.Record("var", y, [x], (g, s) =>
            {
                using var mean = s[0].Mean(axes, keepDim: true);
                using var centered = s[0] - mean;
                using var up = Unreduce(g, x.Layout.Shape, axes, keepDim, "var");
                return [up * centered * (2.0 / (n - correction))];
            }, x);
        }

        /// <summary>Largest value over <paramref name="axes"/>; the gradient goes to the maxima (split on ties).</summary>
        public Tensor Max(int[]? axes = null, bool keepDim = false) => Extreme(x, ReduceOp.Max, "max", axes, keepDim);

        /// <summary>Largest value along one axis.</summary>
        public Tensor Max(int axis, bool keepDim = false) => x.Max([axis], keepDim);

        /// <summary>Smallest value over <paramref name="axes"/>.</summary>
        public Tensor Min(int[]? axes = null, bool keepDim = false) => Extreme(x, ReduceOp.Min, "min", axes, keepDim);

        /// <summary>Smallest value along one axis.</summary>
        public Tensor Min(int axis, bool keepDim = false) => x.Min([axis], keepDim);

        /// <summary>Index (int64) of the largest value along <paramref name="axis"/>, or of the flattened tensor when null.</summary>
        public Tensor ArgMax(int? axis = null, bool keepDim = false) => ArgReduce(x, true, axis, keepDim);

        /// <summary>Index (int64) of the smallest value along <paramref name="axis"/>, or of the flattened tensor when null.</summary>
        public Tensor ArgMin(int? axis = null, bool keepDim = false) => ArgReduce(x, false, axis, keepDim);
    }

    private static int ReducedCount(Tensor x, int[]? axes, string op) =>
        OpChecks.Axes(op, axes, x.Rank).Aggregate(1, (n, a) => n * x.Layout.Shape[a]);

    /// <summary>The input as a contiguous [kept, reduced] matrix, plus the output shape.</summary>
    private static (Tensor Matrix, int Rows, int Cols, int[] OutShape) AsRows(Tensor x, int[]? axes, bool keepDim, string op)
    {
        var reduced = OpChecks.Axes(op, axes, x.Rank);
        var kept = Enumerable.Range(0, x.Rank).Where(d => !reduced.Contains(d)).ToArray();
        var shape = x.Layout.Shape;
        int rows = kept.Aggregate(1, (n, d) => n * shape[d]), cols = reduced.Aggregate(1, (n, d) => n * shape[d]);
        var outShape = keepDim ? shape.Select((s, d) => reduced.Contains(d) ? 1 : s).ToArray() : kept.Select(d => shape[d]).ToArray();
        var permuted = x.Layout.Permute(kept.Concat(reduced).ToArray());
        var matrix = permuted.IsContiguous ? x.View(permuted, op) : x.View(permuted, op).ContiguousAndDispose(op);
        return (matrix, rows, cols, outShape);
    }

    private static Tensor ContiguousAndDispose(this Tensor view, string op)
    {
        var copy = view.ContiguousCopy(op);
        view.Dispose();
        return copy;
    }

    private static Tensor Forward(ReduceOp kind, string op, Tensor x, int[]? axes, bool keepDim, int correction)
    {
        if (kind is ReduceOp.Sum or ReduceOp.Mean && SumOverLeadingAxes(kind, op, x, axes, keepDim) is { } columnSums)
            return columnSums;
        var (matrix, rows, cols, outShape) = AsRows(x, axes, keepDim, op);
        using (matrix)
        {
            if (cols == 0 && kind is ReduceOp.Max or ReduceOp.Min)
                throw new ArgumentException($"{op}: cannot reduce over an empty dimension (shape {Layout.Format(x.Layout.Shape)}).");
            var y = Tensor.Empty(outShape, x.DType, x.Device);
            x.Backend(op).ReduceRows(kind, matrix, y, rows, cols, correction);
            return y;
        }
    }

    /// <summary>
    /// Sum or mean over the leading axes of a contiguous floating tensor, the shape of every bias
    /// gradient ([batch, tokens, features] to [features]), through the backend's column reduction,
    /// which needs no transposed copy on the CPU. Null when x is not of that shape.
    /// </summary>
    private static Tensor? SumOverLeadingAxes(ReduceOp kind, string op, Tensor x, int[]? axes, bool keepDim)
    {
        var reduced = OpChecks.Axes(op, axes, x.Rank);
        if (!x.StorageFor(op).DType.IsFloating() || !x.Layout.IsContiguous
            || reduced.Length == 0 || reduced.Length == x.Rank || reduced[^1] != reduced.Length - 1)
            return null;
        var shape = x.Layout.Shape;
        int rows = shape[..reduced.Length].Aggregate(1, (n, s) => n * s), cols = shape[reduced.Length..].Aggregate(1, (n, s) => n * s);
        if (rows < 2 || cols == 0) return null;
        var outShape = keepDim ? shape.Select((s, d) => d < reduced.Length ? 1 : s).ToArray() : shape[reduced.Length..];
        var y = Tensor.Empty(outShape, x.DType, x.Device);
        x.Backend(op).ReduceColumns(kind, x, y, rows, cols);
        return y;
    }

    /// <summary>Reshapes a reduced gradient to keepDim form and broadcasts it to the input's shape.</summary>
    private static Tensor Unreduce(Tensor g, int[] inputShape, int[]? axes, bool keepDim, string op)
    {
        var reduced = OpChecks.Axes(op, axes, inputShape.Length);
        var kept = inputShape.Select((s, d) => reduced.Contains(d) ? 1 : s).ToArray();
        using var reshaped = keepDim ? g.View(g.Layout, op) : g.Reshape(kept);
        return reshaped.Expand(inputShape);
    }

    private static Tensor Extreme(Tensor x, ReduceOp kind, string op, int[]? axes, bool keepDim)
    {
        var y = Forward(kind, op, x, axes, keepDim, 0);
        return Tape.Record(op, y, [x], (g, s) =>
        {
            using var extreme = Unreduce(s[1], x.Layout.Shape, axes, keepDim, op);
            using var hits = s[0].Eq(extreme);
            using var count = hits.Sum(axes, keepDim: true);
            using var up = Unreduce(g, x.Layout.Shape, axes, keepDim, op);
            return [up * hits / count];
        }, x, y);
    }

    private static Tensor ArgReduce(Tensor x, bool max, int? axis, bool keepDim)
    {
        string op = max ? "argmax" : "argmin";
        var (matrix, rows, cols, outShape) = AsRows(x, axis is { } a ? [a] : null, keepDim && axis != null, op);
        using (matrix)
        {
            if (cols == 0) throw new ArgumentException($"{op}: cannot reduce over an empty dimension (shape {Layout.Format(x.Layout.Shape)}).");
            var y = Tensor.Empty(outShape, DType.Int64, x.Device);
            x.Backend(op).ArgReduceRows(max, matrix, y, rows, cols);
            return y;
        }
    }
}
