namespace Tensorium;

/// <summary>Concatenate, stack and split: copies into or views out of one bigger tensor.</summary>
public static class Joining
{
    /// <summary>Joins tensors along an existing dimension (torch.cat).</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        const string op = "concat";
        if (tensors.Count == 0) throw new ArgumentException($"{op}: expected at least one tensor.");
        // A scalar has no dimension to join along (checked first: NormalizeDim and the shape
        // comparison below would index its empty shape).
        for (int i = 0; i < tensors.Count; i++)
            if (tensors[i].Rank == 0)
                throw new ArgumentException($"{op}: got a rank 0 tensor (a scalar) at position {i}; expected tensors of rank 1 or more (join scalars with Stack).");
        var first = tensors[0];
        int d = Tensor.NormalizeDim(dim, first.Rank, op);
        foreach (var t in tensors)
        {
            OpChecks.SameDevice(op, first, t);
            OpChecks.SameDType(op, first, t);
            if (t.Rank != first.Rank || Enumerable.Range(0, t.Rank).Any(i => i != d && t.Layout.Shape[i] != first.Layout.Shape[i]))
                throw new ArgumentException($"{op}: shapes {Layout.Format(first.Layout.Shape)} and {Layout.Format(t.Layout.Shape)} differ outside dimension {d}.");
        }
        // The joined length in long: summed as int it overflowed (a bare OverflowException).
        long joined = tensors.Sum(t => (long)t.Layout.Shape[d]);
        if (joined > int.MaxValue)
            throw Layout.TooManyElements(op, first.Layout.Shape.Select((s, i) => i == d ? joined : s).ToArray());
        var shape = first.Shape;
        shape[d] = (int)joined;
        Layout.ElementCount(shape, op);
        var y = Tensor.Empty(shape, first.DType, first.Device);
        var starts = new int[tensors.Count];
        int at = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            starts[i] = at;
            int length = tensors[i].Layout.Shape[d];
            using var window = y.View(y.Layout.Narrow(d, at, length), op);
            y.Backend(op).Copy(tensors[i], window);
            at += length;
        }
        return Tape.Record(op, y, tensors.ToArray(), (g, _) =>
            tensors.Select((t, i) => (Tensor?)g.Narrow(d, starts[i], t.Layout.Shape[d])).ToArray());
    }

    /// <summary>Joins equally shaped tensors along a new dimension (torch.stack).</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        if (tensors.Count == 0) throw new ArgumentException("stack: expected at least one tensor.");
        int d = Tensor.NormalizeDim(dim, tensors[0].Rank + 1, "stack");
        foreach (var t in tensors)
            if (!t.Layout.Shape.SequenceEqual(tensors[0].Layout.Shape))
                throw new ArgumentException($"stack: shapes {Layout.Format(tensors[0].Layout.Shape)} and {Layout.Format(t.Layout.Shape)} differ.");
        var stacked = tensors[0].Shape.ToList();   // the result's shape: the count inserted at d
        stacked.Insert(d, tensors.Count);
        Layout.ElementCount(stacked.ToArray(), "stack");
        var expanded = tensors.Select(t => t.Unsqueeze(d)).ToList();
        try { return Concat(expanded, d); }
        finally { expanded.ForEach(t => t.Dispose()); }
    }

    extension(Tensor x)
    {
        /// <summary>Views of consecutive chunks of <paramref name="size"/> along <paramref name="dim"/> (the last may be smaller).</summary>
        public Tensor[] Split(int size, int dim = 0)
        {
            int d = Tensor.NormalizeDim(dim, x.Rank, "split");
            if (size <= 0) throw new ArgumentException($"split: chunk size must be positive, got {size}.");
            int n = x.Layout.Shape[d];
            return Enumerable.Range(0, (n + size - 1) / size).Select(i => x.Narrow(d, i * size, Math.Min(size, n - i * size))).ToArray();
        }
    }
}
