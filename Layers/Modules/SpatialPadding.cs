namespace Tensorium.Layers;

/// <summary>
/// Explicit padding of the two spatial dimensions of an NCHW tensor, each side its own width
/// (asymmetric 'same' padding, ceil-mode pooling), composed from differentiable ops: a constant
/// border is concatenated, and reflect/replicate/circular borders are an IndexSelect with
/// indices computed from the sizes alone, so gradients flow back to the input on every backend.
/// </summary>
internal static class SpatialPadding
{
    /// <summary>
    /// <paramref name="x"/> [N, C, H, W] padded by (top, bottom, left, right); <paramref name="fill"/>
    /// is the constant for <see cref="PaddingMode.Zeros"/> (e.g. -inf for max pooling). Returns a new tensor.
    /// </summary>
    public static Tensor Pad(string op, Tensor x, (int Top, int Bottom, int Left, int Right) pad, PaddingMode mode, double fill = 0)
    {
        if (pad.Top < 0 || pad.Bottom < 0 || pad.Left < 0 || pad.Right < 0)
            throw new ArgumentException($"{op}: padding must be non-negative, got {pad}.");
        using var rows = PadAxis(op, x, 2, pad.Top, pad.Bottom, mode, fill);
        return PadAxis(op, rows, 3, pad.Left, pad.Right, mode, fill);
    }

    private static Tensor PadAxis(string op, Tensor x, int axis, int before, int after, PaddingMode mode, double fill)
    {
        int size = x.Layout.Shape[axis];
        if (before == 0 && after == 0) return x.Contiguous();
        if (mode == PaddingMode.Zeros)
        {
            var parts = new List<Tensor>();
            try
            {
                if (before > 0) parts.Add(Border(x, axis, before, fill));
                parts.Add(x);
                if (after > 0) parts.Add(Border(x, axis, after, fill));
                return Joining.Concat(parts, axis);
            }
            finally
            {
                foreach (var p in parts) if (!ReferenceEquals(p, x)) p.Dispose();
            }
        }
        if (mode == PaddingMode.Reflect && (before >= size || after >= size))
            throw new ArgumentException($"{op}: reflect padding ({before}, {after}) must be smaller than the input size {size} along dimension {axis}.");
        if (mode == PaddingMode.Circular && (before > size || after > size))
            throw new ArgumentException($"{op}: circular padding ({before}, {after}) must be at most the input size {size} along dimension {axis}.");
        var indices = new long[before + size + after];
        for (int i = 0; i < indices.Length; i++) indices[i] = Source(i - before, size, mode);
        using var index = Tensor.FromSpan<long>(indices, [indices.Length], x.Device);
        return x.IndexSelect(axis, index);
    }

    /// <summary>Which input position position <paramref name="i"/> of the padded axis reads.</summary>
    private static long Source(int i, int size, PaddingMode mode) => mode switch
    {
        PaddingMode.Reflect => i < 0 ? -i : i >= size ? 2 * (size - 1) - i : i,
        PaddingMode.Replicate => Math.Clamp(i, 0, size - 1),
        _ => ((i % size) + size) % size,
    };

    private static Tensor Border(Tensor x, int axis, int width, double fill)
    {
        var shape = x.Shape;
        shape[axis] = width;
        return Tensor.Full(shape, fill, x.DType, x.Device);
    }
}
