using Tensorium.Kernels.Cpu;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// The index space of an elementwise kernel: a contiguous output of <see cref="Shape"/> and up to
/// three strided inputs over that same shape (<see cref="StridedLayout"/> with a third operand, for where) (a broadcast dimension has stride 0). The host merges
/// every pair of neighbouring dims that all operands step through as one (as the CPU's
/// <see cref="StridedIndex"/> does), so the rank is usually 1 or 2 and a thread divides by few extents.
/// Strides count elements from each input view's first element.
/// </summary>
public struct ElementwiseLayout
{
    /// <summary>Number of dims in use.</summary>
    public int Rank;
    /// <summary>The output's (merged) shape.</summary>
    public Dims Shape;
    /// <summary>Strides of the first input.</summary>
    public Dims A;
    /// <summary>Strides of the second input (zeros when there is none).</summary>
    public Dims B;
    /// <summary>Strides of the third input (zeros when there is none).</summary>
    public Dims C;

    /// <summary>
    /// The layout of an op over <paramref name="shape"/> whose inputs have the given strides (one to
    /// three arrays, each of the shape's rank); <paramref name="op"/> names the op in errors.
    /// </summary>
    /// <exception cref="NotSupportedException">More than <see cref="Dims.MaxRank"/> dims remain after merging.</exception>
    public static ElementwiseLayout Create(string op, ReadOnlySpan<int> shape, params int[][] strides)
    {
        if (strides.Length is < 1 or > 3) throw new ArgumentException($"{op}: an elementwise layout takes 1 to 3 inputs, got {strides.Length}.");
        var merged = new StridedIndex(shape, strides);
        if (merged.Shape.Length > Dims.MaxRank)
            throw new NotSupportedException(
                $"{op}: {merged.Shape.Length} dimensions that cannot be merged; the GPU kernels take at most {Dims.MaxRank} (make the input contiguous first).");
        var none = new int[merged.Shape.Length];
        return new ElementwiseLayout
        {
            Rank = merged.Shape.Length,
            Shape = Dims.From(merged.Shape, 1),
            A = Dims.From(merged.Strides[0]),
            B = Dims.From(strides.Length > 1 ? merged.Strides[1] : none),
            C = Dims.From(strides.Length > 2 ? merged.Strides[2] : none),
        };
    }

    /// <summary>
    /// The element offsets in the three inputs of flat output index <paramref name="i"/> (row-major
    /// over <see cref="Shape"/>): one division per dim, innermost first.
    /// </summary>
    public readonly void Offsets(int i, out int a, out int b, out int c)
    {
        a = 0;
        b = 0;
        c = 0;
        for (int k = Rank - 1; k >= 0; k--)
        {
            int extent = Shape[k], q = i / extent, r = i - q * extent;
            a += r * A[k];
            b += r * B[k];
            c += r * C[k];
            i = q;
        }
    }
}
