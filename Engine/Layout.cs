using System.Numerics;

namespace Tensorium;

/// <summary>
/// How a tensor's elements sit in its storage: shape, strides (in elements) and an offset.
/// Views (transpose, slice, expand...) are new layouts over the same storage; nothing is copied.
/// </summary>
public sealed class Layout
{
    /// <summary>Size of each dimension.</summary>
    public int[] Shape { get; }
    /// <summary>Elements to skip to move one step along each dimension (0 for broadcast dims).</summary>
    public int[] Strides { get; }
    /// <summary>Index of the first element in the storage.</summary>
    public int Offset { get; }

    /// <summary>Creates a layout from explicit shape, strides and offset.</summary>
    public Layout(int[] shape, int[] strides, int offset)
    {
        Shape = shape;
        Strides = strides;
        Offset = offset;
    }

    /// <summary>A row-major (C-order) contiguous layout.</summary>
    public static Layout Contiguous(int[] shape) => new(shape, ContiguousStrides(shape), 0);

    /// <summary>Row-major strides for a shape.</summary>
    public static int[] ContiguousStrides(int[] shape)
    {
        var strides = new int[shape.Length];
        int s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= shape[i];
        }
        return strides;
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>Total number of elements.</summary>
    public int Count => ElementCount(Shape, "layout");

    /// <summary>
    /// The product of the sizes: the element count of a tensor of <paramref name="shape"/>. Throws
    /// an error naming <paramref name="op"/> when a size is negative or when the product is more
    /// than a tensor can hold (int.MaxValue elements).
    /// </summary>
    public static int ElementCount(ReadOnlySpan<int> shape, string op)
    {
        foreach (int d in shape)
            if (d < 0) throw new ArgumentException($"{op}: shape {Format(shape)} has a negative size.");
        // A zero anywhere makes the product 0, however large the other sizes (as in PyTorch).
        if (shape.Contains(0)) return 0;
        long n = 1;
        foreach (int d in shape)
        {
            // Stop as soon as the product passes int.MaxValue: until then n * d fits a long. Multiplying
            // every size wrapped [65536, 65536, 65536, 65536] around to 2^64 = 0 elements.
            n *= d;
            if (n > int.MaxValue) throw TooManyElements(op, shape.ToArray().Select(s => (long)s).ToArray());
        }
        return (int)n;
    }

    /// <summary>
    /// The error for a shape with more elements than a tensor holds; the sizes are longs so that
    /// ops whose result length itself overflows an int (concat, arange) can report it exactly.
    /// </summary>
    internal static ArgumentException TooManyElements(string op, long[] shape)
    {
        var count = shape.Aggregate(BigInteger.One, (product, d) => product * d);   // exact, never wraps
        return new ArgumentException(
            $"{op}: shape [{string.Join(", ", shape)}] has {count} elements; a tensor holds at most {int.MaxValue} (int.MaxValue).");
    }

    /// <summary>True when elements are in row-major order with no gaps (offset may be non-zero).</summary>
    public bool IsContiguous
    {
        get
        {
            int expected = 1;
            for (int i = Rank - 1; i >= 0; i--)
            {
                if (Shape[i] != 1 && Strides[i] != expected) return false;
                expected *= Shape[i];
            }
            return true;
        }
    }

    /// <summary>Swaps two dimensions.</summary>
    public Layout Transpose(int dim0, int dim1)
    {
        var order = Enumerable.Range(0, Rank).ToArray();
        (order[dim0], order[dim1]) = (order[dim1], order[dim0]);
        return Permute(order);
    }

    /// <summary>Reorders dimensions: new dim i is old dim order[i].</summary>
    public Layout Permute(int[] order) =>
        new(order.Select(d => Shape[d]).ToArray(), order.Select(d => Strides[d]).ToArray(), Offset);

    /// <summary>Keeps <paramref name="length"/> entries of a dimension starting at <paramref name="start"/>.</summary>
    public Layout Narrow(int dim, int start, int length)
    {
        var shape = (int[])Shape.Clone();
        shape[dim] = length;
        return new(shape, (int[])Strides.Clone(), Offset + start * Strides[dim]);
    }

    /// <summary>Takes every <paramref name="step"/>-th entry of a dimension from <paramref name="start"/>.</summary>
    public Layout Slice(int dim, int start, int length, int step)
    {
        var shape = (int[])Shape.Clone();
        var strides = (int[])Strides.Clone();
        shape[dim] = length;
        strides[dim] *= step;
        return new(shape, strides, Offset + start * Strides[dim]);
    }

    /// <summary>Broadcasts size-1 dims (and new leading dims) to <paramref name="shape"/> with stride 0.</summary>
    public Layout Expand(int[] shape)
    {
        int lead = shape.Length - Rank;
        var strides = new int[shape.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            int j = i - lead;
            strides[i] = j < 0 || (Shape[j] == 1 && shape[i] != 1) ? 0 : Strides[j];
        }
        return new(shape, strides, Offset);
    }

    /// <summary>Inserts a size-1 dimension at <paramref name="dim"/>.</summary>
    public Layout Unsqueeze(int dim)
    {
        var shape = Shape.ToList();
        var strides = Strides.ToList();
        int stride = dim < Rank ? Shape[dim] * Strides[dim] : 1;
        shape.Insert(dim, 1);
        strides.Insert(dim, stride);
        return new(shape.ToArray(), strides.ToArray(), Offset);
    }

    /// <summary>Removes the given size-1 dimensions.</summary>
    public Layout Squeeze(IReadOnlyCollection<int> dims) =>
        new(Shape.Where((_, i) => !dims.Contains(i)).ToArray(), Strides.Where((_, i) => !dims.Contains(i)).ToArray(), Offset);

    /// <summary>
    /// The same elements seen with a new shape without copying, or null when the strides do not
    /// allow it (then the caller copies first). Works dimension-group by dimension-group like torch.view.
    /// </summary>
    public Layout? TryReshape(int[] shape)
    {
        if (IsContiguous || Count == 0) return new(shape, ContiguousStrides(shape), Offset);
        // Merge old dims into groups that are contiguous among themselves, then split each group.
        var newStrides = new int[shape.Length];
        int oi = 0, ni = 0;
        while (oi < Rank || ni < shape.Length)
        {
            if (oi < Rank && Shape[oi] == 1) { oi++; continue; }
            if (ni < shape.Length && shape[ni] == 1) { newStrides[ni] = 1; ni++; continue; }
            if (oi >= Rank || ni >= shape.Length) return null;
            // Grow an old group [oStart, oi) and a new group [nStart, ni) until their sizes match.
            long oldSize = Shape[oi], newSize = shape[ni];
            int last = oi++, nStart = ni++;   // last: innermost non-1 old dim of the group
            while (oldSize != newSize)
            {
                if (oldSize < newSize)
                {
                    if (oi >= Rank) return null;
                    if (Shape[oi] == 1) { oi++; continue; }
                    // Old dims merge only when the outer one steps over exactly the inner one.
                    if (Strides[last] != Strides[oi] * Shape[oi]) return null;
                    last = oi;
                    oldSize *= Shape[oi++];
                }
                else
                {
                    if (ni >= shape.Length) return null;
                    newSize *= shape[ni++];
                }
            }
            int s = Strides[last];
            for (int d = ni - 1; d >= nStart; d--)
            {
                newStrides[d] = s;
                s *= shape[d];
            }
        }
        return new(shape, newStrides, Offset);
    }

    /// <summary>Formats a shape like [2, 3, 4].</summary>
    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    /// <inheritdoc />
    public override string ToString() => $"shape {Format(Shape)} strides {Format(Strides)} offset {Offset}";
}
