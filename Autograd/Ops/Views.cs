namespace Tensorium;

/// <summary>
/// Ops that only change how storage is seen (shape, strides, offset): nothing is copied unless
/// the strides make it impossible (reshape of a non-contiguous view, Contiguous()). Backward
/// applies the inverse view to the gradient.
/// </summary>
public static class Views
{
    extension(Tensor x)
    {
        /// <summary>The same elements with a new shape; one size may be -1 (inferred). Copies only when the strides require it.</summary>
        public Tensor Reshape(params int[] shape)
        {
            var target = InferShape("reshape", x, shape);
            var layout = x.Layout.TryReshape(target);
            var y = layout != null ? x.View(layout, "reshape") : x.ContiguousCopy("reshape").ReshapeOwned(target);
            var inputShape = x.Layout.Shape;
            return Tape.Record("reshape", y, [x], (g, _) => [g.Reshape(inputShape)]);
        }

        /// <summary>Like <see cref="Reshape"/> but never copies: fails on layouts that need a copy (torch.view).</summary>
        public Tensor ViewAs(params int[] shape)
        {
            var target = InferShape("view", x, shape);
            var layout = x.Layout.TryReshape(target) ?? throw new InvalidOperationException(
                $"view: a tensor with {x.Layout} cannot be viewed as {Layout.Format(target)} without a copy; call Reshape or Contiguous() first.");
            var inputShape = x.Layout.Shape;
            return Tape.Record("view", x.View(layout, "view"), [x], (g, _) => [g.Reshape(inputShape)]);
        }

        /// <summary>Flattens dimensions startDim..endDim into one.</summary>
        public Tensor Flatten(int startDim = 0, int endDim = -1)
        {
            // A scalar first: NormalizeDim(-1, 0) rejects the default endDim, so Flatten() of a scalar threw.
            if (x.Rank == 0) return x.Reshape(1);
            int s = Tensor.NormalizeDim(startDim, x.Rank, "flatten"), e = Tensor.NormalizeDim(endDim, x.Rank, "flatten");
            var shape = x.Layout.Shape;
            var target = shape[..s].Append(Layout.ElementCount(shape[s..(e + 1)], "flatten")).Concat(shape[(e + 1)..]).ToArray();
            return x.Reshape(target);
        }

        /// <summary>Swaps two dimensions (a view).</summary>
        public Tensor Transpose(int dim0, int dim1)
        {
            int a = Tensor.NormalizeDim(dim0, x.Rank, "transpose"), b = Tensor.NormalizeDim(dim1, x.Rank, "transpose");
            return Tape.Record("transpose", x.View(x.Layout.Transpose(a, b), "transpose"), [x], (g, _) => [g.Transpose(a, b)]);
        }

        /// <summary>The transpose of a matrix (rank 2).</summary>
        public Tensor T
        {
            get
            {
                OpChecks.Rank("T", x, 2, "a matrix");
                return x.Transpose(0, 1);
            }
        }

        /// <summary>Reorders dimensions: result dim i is input dim order[i] (a view).</summary>
        public Tensor Permute(params int[] order)
        {
            if (order.Length != x.Rank)
                throw new ArgumentException($"permute: got {order.Length} dims [{string.Join(", ", order)}] for a tensor of rank {x.Rank}.");
            var dims = order.Select(d => Tensor.NormalizeDim(d, x.Rank, "permute")).ToArray();
            if (dims.Distinct().Count() != dims.Length)
                throw new ArgumentException($"permute: [{string.Join(", ", order)}] is not a permutation of 0..{x.Rank - 1}.");
            var inverse = new int[dims.Length];
            for (int i = 0; i < dims.Length; i++) inverse[dims[i]] = i;
            return Tape.Record("permute", x.View(x.Layout.Permute(dims), "permute"), [x], (g, _) => [g.Permute(inverse)]);
        }

        /// <summary>Removes size-1 dimensions (the given ones, or all).</summary>
        public Tensor Squeeze(params int[] dims)
        {
            var targets = dims.Length == 0
                ? Enumerable.Range(0, x.Rank).Where(d => x.Layout.Shape[d] == 1).ToArray()
                : dims.Select(d => Tensor.NormalizeDim(d, x.Rank, "squeeze")).Where(d => x.Layout.Shape[d] == 1).ToArray();
            var inputShape = x.Layout.Shape;
            return Tape.Record("squeeze", x.View(x.Layout.Squeeze(targets), "squeeze"), [x], (g, _) => [g.Reshape(inputShape)]);
        }

        /// <summary>Inserts a size-1 dimension at <paramref name="dim"/> (negative counts from the end of the result).</summary>
        public Tensor Unsqueeze(int dim)
        {
            int d = Tensor.NormalizeDim(dim, x.Rank + 1, "unsqueeze");
            var inputShape = x.Layout.Shape;
            return Tape.Record("unsqueeze", x.View(x.Layout.Unsqueeze(d), "unsqueeze"), [x], (g, _) => [g.Reshape(inputShape)]);
        }

        /// <summary>Entries start..start+length-1 of a dimension (a view).</summary>
        public Tensor Narrow(int dim, int start, int length)
        {
            // Checked here rather than left to Slice: Slice clips its bounds like Python, which
            // turned a negative start into an empty result (start + length <= 0) and silently
            // shortened windows running past the end. torch.narrow allows a negative start and
            // rejects windows that do not fit.
            int d = Tensor.NormalizeDim(dim, x.Rank, "narrow");
            int size = x.Layout.Shape[d], s = start < 0 ? start + size : start;
            if (s < 0 || length < 0 || s + length > size)
                throw new ArgumentException($"narrow: start {start} and length {length} do not fit dimension {dim} of size {size} (shape {Layout.Format(x.Layout.Shape)}).");
            return x.Slice(d, s, s + length, 1);
        }

        /// <summary>
        /// Python-style slice start:end:step of one dimension (a view). Negative start/end count from
        /// the end; out-of-range bounds are clipped like Python's.
        /// </summary>
        public Tensor Slice(int dim, int start, int end, int step = 1)
        {
            int d = Tensor.NormalizeDim(dim, x.Rank, "slice");
            int size = x.Layout.Shape[d];
            if (step < 1) throw new ArgumentException($"slice: step must be positive, got {step}.");
            int s = Math.Clamp(start < 0 ? start + size : start, 0, size), e = Math.Clamp(end < 0 ? end + size : end, 0, size);
            int length = Math.Max(0, (e - s + step - 1) / step);
            var inputShape = x.Layout.Shape;
            return Tape.Record("slice", x.View(x.Layout.Slice(d, s, length, step), "slice"), [x], (g, _) =>
            {
                // Scatter the gradient back into a zero tensor of the input's shape.
                var full = Tensor.Zeros(inputShape.ToArray(), g.DType, g.Device);
                using var window = full.View(full.Layout.Slice(d, s, length, step), "slice");
                window.Backend("slice").Copy(g, window);
                return [full];
            });
        }

        /// <summary>Broadcasts size-1 dims (and new leading dims) to <paramref name="shape"/>; -1 keeps a size (a view).</summary>
        public Tensor Expand(params int[] shape)
        {
            int lead = shape.Length - x.Rank;
            if (lead < 0) throw new ArgumentException($"expand: cannot expand shape {Layout.Format(x.Layout.Shape)} to fewer dims {Layout.Format(shape)}.");
            var target = shape.Select((s, i) => s == -1 && i >= lead ? x.Layout.Shape[i - lead] : s).ToArray();
            for (int i = 0; i < x.Rank; i++)
                if (x.Layout.Shape[i] != 1 && x.Layout.Shape[i] != target[i + lead])
                    throw new ArgumentException($"expand: shape {Layout.Format(x.Layout.Shape)} cannot be expanded to {Layout.Format(target)} (dimension {i + lead}).");
            Layout.ElementCount(target, "expand");   // a view has no memory to fail on, so check the count here
            var inputShape = x.Layout.Shape;
            return Tape.Record("expand", x.View(x.Layout.Expand(target), "expand"), [x], (g, _) => [g.SumTo(inputShape)]);
        }

        /// <summary>
        /// This tensor if already contiguous (a new handle; a view that starts part-way into its
        /// storage counts, as in PyTorch), else a contiguous copy.
        /// </summary>
        public Tensor Contiguous() =>
            Tape.Record("contiguous", x.AsContiguous("contiguous"), [x], (g, _) => [g.View(g.Layout, "contiguous")]);

        /// <summary>A copy converted to <paramref name="dtype"/> (gradients flow between float types).</summary>
        public Tensor To(DType dtype)
        {
            var source = x.StorageFor("to").DType;   // use after Dispose names "to", not "dtype"
            var y = x.ContiguousCopy("to", dtype);
            return dtype.IsFloating() && source.IsFloating()
                ? Tape.Record("to", y, [x], (g, _) => [g.ContiguousCopy("to", source)])
                : y;
        }

        /// <summary>
        /// This tensor on <paramref name="device"/>: a new handle when it is already there, else a
        /// copy staged through host memory. Gradients flow back to the source device.
        /// </summary>
        public Tensor To(Device device)
        {
            var source = x.Device;
            if (source == device) return Tape.Record("to", x.View(x.Layout, "to"), [x], (g, _) => [g.View(g.Layout, "to")]);
            return Tape.Record("to", Transfer(x, device), [x], (g, _) => [Transfer(g, source)]);
        }

        /// <summary>A new handle on the same data that is cut off from the tape (no gradient flows through it).</summary>
        public Tensor Detach() => x.View(x.Layout, "detach");
    }

    private static Tensor Transfer(Tensor x, Device device)
    {
        using var c = x.AsContiguous("to");
        var staging = new byte[(long)c.Count * c.DType.SizeInBytes()];
        c.Backend("to").Download(c, staging);
        var y = Tensor.Empty(c.Layout.Shape.ToArray(), c.DType, device);
        y.Backend("to").Upload(y.StorageFor("to"), staging);
        return y;
    }

    private static Tensor ReshapeOwned(this Tensor contiguous, int[] shape)
    {
        var view = contiguous.View(Layout.Contiguous(shape), "reshape");
        contiguous.Dispose();
        return view;
    }

    private static int[] InferShape(string op, Tensor x, int[] shape)
    {
        var target = (int[])shape.Clone();
        int unknown = Array.IndexOf(target, -1);
        if (target.Count(s => s == -1) > 1 || target.Any(s => s < -1))
            throw new ArgumentException($"{op}: invalid shape {Layout.Format(shape)} (at most one -1, no other negative sizes).");
        // In long and capped just past int.MaxValue, so the product cannot wrap around to a divisor.
        long known = target.Where(s => s != -1).Aggregate(1L, (a, b) => Math.Min(a * b, int.MaxValue + 1L));
        if (unknown >= 0)
        {
            if (known == 0 || x.Count % known != 0)
                throw new ArgumentException($"{op}: cannot reshape a tensor of shape {Layout.Format(x.Layout.Shape)} ({x.Count} elements) to {Layout.Format(shape)}.");
            target[unknown] = (int)(x.Count / known);
        }
        int count = Layout.ElementCount(target, op);
        if (count != x.Count)
            throw new ArgumentException($"{op}: cannot reshape a tensor of shape {Layout.Format(x.Layout.Shape)} ({x.Count} elements) to {Layout.Format(shape)} ({count} elements).");
        return target;
    }
}
