namespace Tensorium;

/// <summary>
/// Gather, index-select, scatter-add and one-hot. Indices are int64 (int32 is converted).
/// The backward of a gather is a scatter-add and the other way round.
/// </summary>
public static class IndexingOps
{
    extension(Tensor x)
    {
        /// <summary>torch.gather: y[..., j, ...] = x[..., index[..., j, ...], ...] along <paramref name="dim"/>; index has x's shape except along dim.</summary>
        public Tensor Gather(int dim, Tensor index)
        {
            const string op = "gather";
            int d = Tensor.NormalizeDim(dim, x.Rank, op);
            CheckIndexShape(op, x, index, d);
            using var idx = AsInt64(op, index);
            OpChecks.IndicesInRange(op, idx, x.Layout.Shape[d]);
            using var src = x.Contiguous();
            var (outer, inner) = Split(x.Layout.Shape, d);
            var y = Tensor.Empty(index.Layout.Shape.ToArray(), x.DType, x.Device);
            x.Backend(op).Gather(src, idx, y, outer, x.Layout.Shape[d], index.Layout.Shape[d], inner);
            var inputShape = x.Layout.Shape;
            return Tape.Record(op, y, [x], (g, s) => [Tensor.Zeros(inputShape, g.DType, g.Device).ScatterAdd(d, s[0], g)], idx);
        }

        /// <summary>Returns x with src added at index along dim: y[..., index[..., j, ...], ...] += src[..., j, ...] (out of place).</summary>
        public Tensor ScatterAdd(int dim, Tensor index, Tensor src)
        {
            const string op = "scatter_add";
            int d = Tensor.NormalizeDim(dim, x.Rank, op);
            OpChecks.SameDType(op, x, src);
            if (!index.Layout.Shape.SequenceEqual(src.Layout.Shape))
                throw new ArgumentException($"{op}: index shape {Layout.Format(index.Layout.Shape)} must equal src shape {Layout.Format(src.Layout.Shape)}.");
            CheckIndexShape(op, x, index, d);
            using var idx = AsInt64(op, index);
            OpChecks.IndicesInRange(op, idx, x.Layout.Shape[d]);
            using var s = src.Contiguous();
            var y = x.ContiguousCopy(op);
            var (outer, inner) = Split(x.Layout.Shape, d);
            x.Backend(op).ScatterAdd(s, idx, y, outer, x.Layout.Shape[d], index.Layout.Shape[d], inner);
            return Tape.Record(op, y, [x, src], (g, saved) => [g.View(g.Layout, op), g.Gather(d, saved[0])], idx);
        }

        /// <summary>torch.index_select: the entries of dimension <paramref name="dim"/> listed in the 1-d <paramref name="index"/>.</summary>
        public Tensor IndexSelect(int dim, Tensor index)
        {
            const string op = "index_select";
            int d = Tensor.NormalizeDim(dim, x.Rank, op);
            if (index.Rank != 1) throw new ArgumentException($"{op}: expected a 1-d index, got shape {Layout.Format(index.Layout.Shape)}.");
            using var idx = AsInt64(op, index);
            OpChecks.IndicesInRange(op, idx, x.Layout.Shape[d]);
            using var src = x.Contiguous();
            var (outer, inner) = Split(x.Layout.Shape, d);
            var shape = x.Shape;
            shape[d] = index.Count;
            var y = Tensor.Empty(shape, x.DType, x.Device);
            x.Backend(op).IndexSelect(src, idx, y, outer, x.Layout.Shape[d], index.Count, inner);
            var inputShape = x.Layout.Shape;
            return Tape.Record(op, y, [x], (g, s) =>
            {
                var full = Tensor.Zeros(inputShape, g.DType, g.Device);
                using var gc = g.Contiguous();
                full.Backend(op).IndexAdd(gc, s[0], full, outer, inputShape[d], s[0].Count, inner);
                return [full];
            }, idx);
        }

        /// <summary>Rows of a [num, dim] table picked by an index tensor of any shape: the result has shape index.shape + [dim] (an embedding lookup).</summary>
        public Tensor Embedding(Tensor index)
        {
            OpChecks.Rank("embedding", x, 2, "a weight table");
            using var flat = index.Reshape(-1);
            using var rows = x.IndexSelect(0, flat);
            return rows.Reshape(index.Layout.Shape.Append(x.Layout.Shape[1]).ToArray());
        }

        /// <summary>A [..., classes] tensor with 1 at each index (x holds integer class indices).</summary>
        public Tensor OneHot(int classes, DType dtype = DType.Float32)
        {
            const string op = "one_hot";
            if (classes <= 0) throw new ArgumentException($"{op}: expected a positive number of classes, got {classes}.");
            using var idx = AsInt64(op, x);
            OpChecks.IndicesInRange(op, idx, classes);
            var y = Tensor.Empty(x.Layout.Shape.Append(classes).ToArray(), dtype, x.Device);
            x.Backend(op).OneHot(idx, y, x.Count, classes);
            return y;
        }
    }

    private static (int Outer, int Inner) Split(int[] shape, int dim) =>
        (shape[..dim].Aggregate(1, (a, b) => a * b), shape[(dim + 1)..].Aggregate(1, (a, b) => a * b));

    private static void CheckIndexShape(string op, Tensor x, Tensor index, int dim)
    {
        if (index.Rank != x.Rank || Enumerable.Range(0, x.Rank).Any(i => i != dim && index.Layout.Shape[i] != x.Layout.Shape[i]))
            throw new ArgumentException($"{op}: index shape {Layout.Format(index.Layout.Shape)} must match input shape {Layout.Format(x.Layout.Shape)} in every dimension but {dim}.");
    }

    /// <summary>A contiguous int64 copy of an integer index tensor.</summary>
    private static Tensor AsInt64(string op, Tensor index)
    {
        var dtype = index.StorageFor(op).DType;   // use after Dispose names the op
        if (dtype.IsFloating())
            throw new ArgumentException($"{op}: expected an int32 or int64 index tensor, got {dtype.Name()}.");
        return index.AsContiguous(op, DType.Int64);
    }
}
