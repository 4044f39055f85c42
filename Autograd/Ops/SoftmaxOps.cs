namespace Tensorium;

/// <summary>
/// Softmax and log-softmax along one dimension, numerically stable (the row max is subtracted
/// first). Backward uses only the saved output: dx = y (dy - sum(dy y)) for softmax and
/// dx = dy - exp(y) sum(dy) for log-softmax.
/// </summary>
public static class SoftmaxOps
{
    extension(Tensor x)
    {
        /// <summary>exp(x) / sum(exp(x)) along <paramref name="dim"/>.</summary>
        public Tensor Softmax(int dim = -1) => Run(x, dim, log: false);

        /// <summary>x - log(sum(exp(x))) along <paramref name="dim"/>.</summary>
        public Tensor LogSoftmax(int dim = -1) => Run(x, dim, log: true);
    }

    private static Tensor Run(Tensor x, int dim, bool log)
    {
        string op = log ? "log_softmax" : "softmax";
        OpChecks.Floating(op, x);
        if (x.Rank == 0) throw new ArgumentException($"{op}: expected at least one dimension, got a scalar.");
        int d = Tensor.NormalizeDim(dim, x.Rank, op);
        int last = x.Rank - 1;
        // The kernel works on contiguous rows: bring dim last, run, and put it back.
        using var moved = d == last ? x.View(x.Layout, op) : x.View(x.Layout.Transpose(d, last), op);
        using var rows = moved.AsContiguous(op);
        int cols = rows.Layout.Shape[last], count = cols == 0 ? 0 : rows.Count / cols;
        using var yRows = Tensor.Empty(rows.Layout.Shape.ToArray(), x.DType, x.Device);
        if (count > 0) x.Backend(op).Softmax(log, rows, yRows, count, cols);
        var y = d == last ? yRows.View(yRows.Layout, op) : yRows.View(yRows.Layout.Transpose(d, last), op);
        return Tape.Record(op, y, [x], (g, s) =>
        {
            using var gMoved = d == last ? g.View(g.Layout, op) : g.View(g.Layout.Transpose(d, last), op);
            using var gRows = gMoved.ContiguousCopy(op);
            using var gx = Tensor.Empty(gRows.Layout.Shape.ToArray(), g.DType, g.Device);
            if (count > 0) g.Backend(op).SoftmaxBackward(log, s[0], gRows, gx, count, cols);
            return [d == last ? gx.View(gx.Layout, op) : gx.View(gx.Layout.Transpose(d, last), op)];
        }, yRows);
    }
}
