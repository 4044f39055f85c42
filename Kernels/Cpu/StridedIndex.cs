namespace Tensorium.Kernels.Cpu;

/// <summary>
/// Walks an N-d index space over up to three strided operands. Adjacent dimensions that are
/// laid out back-to-back in every operand are merged first, so most walks end up as a few
/// long rows; the caller then processes each innermost row with a vectorised loop.
/// </summary>
public sealed class StridedIndex
{
    /// <summary>Sizes after merging (innermost last).</summary>
    public int[] Shape { get; }
    /// <summary>Strides of each operand after merging, same rank as <see cref="Shape"/>.</summary>
    public int[][] Strides { get; }

    /// <summary>Merges the dims of <paramref name="shape"/> for the given operand strides.</summary>
    public StridedIndex(ReadOnlySpan<int> shape, params int[][] strides)
    {
        var dims = new List<int>();
        var merged = strides.Select(_ => new List<int>()).ToArray();
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1) continue;  // size-1 dims never move the index
            int last = dims.Count - 1;
            bool canMerge = last >= 0;
            for (int k = 0; k < strides.Length && canMerge; k++) canMerge = merged[k][last] == strides[k][d] * shape[d];
            if (canMerge)
            {
                dims[last] *= shape[d];
                for (int k = 0; k < strides.Length; k++) merged[k][last] = strides[k][d];
            }
            else
            {
                dims.Add(shape[d]);
                for (int k = 0; k < strides.Length; k++) merged[k].Add(strides[k][d]);
            }
        }
        if (dims.Count == 0)
        {
            dims.Add(1);
            foreach (var m in merged) m.Add(1);
        }
        Shape = dims.ToArray();
        Strides = merged.Select(m => m.ToArray()).ToArray();
    }

    /// <summary>Length of the innermost row.</summary>
    public int RowLength => Shape[^1];

    /// <summary>Number of innermost rows.</summary>
    public int RowCount => Shape.Length == 1 ? 1 : (int)Shape[..^1].Aggregate(1L, (a, b) => a * b);

    /// <summary>Element offset of row <paramref name="row"/> in operand <paramref name="operand"/>.</summary>
    public int RowOffset(int operand, int row)
    {
        int offset = 0;
        var strides = Strides[operand];
        for (int d = Shape.Length - 2; d >= 0; d--)
        {
            offset += row % Shape[d] * strides[d];
            row /= Shape[d];
        }
        return offset;
    }

    /// <summary>
    /// Element offsets of the rows <paramref name="first"/>, first + 1, ... (as many as
    /// <paramref name="offsets"/> holds) of operand <paramref name="operand"/>: one division per
    /// dimension for the first row, then an odometer, where <see cref="RowOffset"/> divides per row.
    /// </summary>
    public void RowOffsets(int operand, int first, Span<int> offsets)
    {
        if (offsets.IsEmpty) return;
        var strides = Strides[operand];
        int outer = Shape.Length - 1;
        Span<int> counter = stackalloc int[Math.Max(1, outer)];
        int offset = 0, row = first;
        for (int d = outer - 1; d >= 0; d--)
        {
            counter[d] = row % Shape[d];
            offset += counter[d] * strides[d];
            row /= Shape[d];
        }
        for (int i = 0; i < offsets.Length; i++)
        {
            offsets[i] = offset;
            for (int d = outer - 1; d >= 0; d--)
            {
                offset += strides[d];
                if (++counter[d] < Shape[d]) break;
                offset -= strides[d] * Shape[d];
                counter[d] = 0;
            }
        }
    }

    /// <summary>Innermost stride of operand <paramref name="operand"/>.</summary>
    public int InnerStride(int operand) => Strides[operand][^1];
}
