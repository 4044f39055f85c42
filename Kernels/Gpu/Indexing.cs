using System.Numerics;
using ILGPU;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Indexing on contiguous data seen as [outer, axis, inner], with int64 indices: gather,
/// scatter-add, index-select, index-add, one-hot. Indices arrive checked (the ops reject one
/// outside its axis before any kernel runs), so the kernels trust them. The accumulating ops
/// (scatter-add, index-add) are written as gathers: one thread per output element adds the
/// entries that point at it, in index order, onto the value already there: no atomics, the same
/// order as the CPU, and so the same result bit for bit. Integer sums wrap around, as C#'s do.
/// </summary>
public static class Indexing
{
    /// <summary>
    /// torch.gather: y[o, j, i] = x[o, index[o, j, i], i]; x is [outer, xAxis, inner], index and
    /// y are [outer, indexAxis, inner] (thread at = flat index into y).
    /// </summary>
    public static void Gather<T>(Index1D at, ArrayView<T> x, ArrayView<long> index, ArrayView<T> y, int xAxis, int indexAxis, int inner)
        where T : unmanaged
    {
        int i = at % inner, o = at / inner / indexAxis;
        long k = index[at];
        y[at] = x[((long)o * xAxis + k) * inner + i];
    }

    /// <summary>
    /// The backward of gather: y[o, k, i] += src[o, j, i] for every j (ascending) with
    /// index[o, j, i] == k; src and index are [outer, indexAxis, inner], y is [outer, yAxis, inner]
    /// (thread at = flat index into y).
    /// </summary>
    public static void ScatterAdd<T>(Index1D at, ArrayView<T> src, ArrayView<long> index, ArrayView<T> y, int yAxis, int indexAxis, int inner)
        where T : unmanaged, INumber<T>
    {
        int i = at % inner, ok = at / inner;
        int k = ok % yAxis, o = ok / yAxis;
        long first = (long)o * indexAxis * inner + i;
        T sum = y[at];
        for (int j = 0; j < indexAxis; j++)
        {
            long f = first + (long)j * inner;
            if (index[f] == k) sum += src[f];
        }
        y[at] = sum;
    }

    /// <summary>torch.index_select: y[o, j, i] = x[o, index[j], i]; y is [outer, count, inner] (thread at = flat index into y).</summary>
    public static void IndexSelect<T>(Index1D at, ArrayView<T> x, ArrayView<long> index, ArrayView<T> y, int xAxis, int count, int inner)
        where T : unmanaged
    {
        int i = at % inner, oj = at / inner;
        int j = oj % count, o = oj / count;
        y[at] = x[((long)o * xAxis + index[j]) * inner + i];
    }

    /// <summary>
    /// The backward of index_select: y[o, k, i] += src[o, j, i] for the j with index[j] == k, in
    /// ascending j. The host inverts the index first (a counting sort): the j pointing at k are
    /// order[starts[k] .. starts[k + 1]), ascending. src is [outer, count, inner], y
    /// [outer, yAxis, inner] (thread at = flat index into y).
    /// </summary>
    public static void IndexAdd<T>(Index1D at, ArrayView<T> src, ArrayView<int> starts, ArrayView<int> order, ArrayView<T> y, int yAxis, int count, int inner)
        where T : unmanaged, INumber<T>
    {
        int i = at % inner, ok = at / inner;
        int k = ok % yAxis, o = ok / yAxis;
        T sum = y[at];
        for (int p = starts[k], end = starts[k + 1]; p < end; p++)
            sum += src[((long)o * count + order[p]) * inner + i];
        y[at] = sum;
    }

    /// <summary>y[r, c] = index[r] == c ? 1 : 0 over a [rows, classes] output (thread at = flat index into y).</summary>
    public static void OneHot<T>(Index1D at, ArrayView<long> index, ArrayView<T> y, int classes)
        where T : unmanaged, INumber<T>
    {
        int r = at / classes, c = at % classes;
        y[at] = index[r] == c ? T.One : T.Zero;
    }
}
