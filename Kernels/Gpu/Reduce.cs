using System.Numerics;
using ILGPU;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Reductions of a contiguous [rows, cols] matrix: along rows (sum, mean, max, min, variance,
/// argmax, argmin; each row reduced by one segment of threads, see <see cref="SegmentReduce"/>)
/// and along columns (sum, mean). Semantics follow the CPU kernels (Kernels/Cpu/Reduce.cs):
/// sums accumulate in the element type (integers wrap), integer means and variances divide with
/// truncation, variance takes two passes (the mean, then squared deviations), max and min let
/// NaN win and order +0 above -0, and arg-reductions return the first index of the extreme value
/// (the first NaN when there is one).
/// </summary>
public static class Reduce
{
    /// <summary>Columns each group of <see cref="Columns{T}"/> reduces (one per thread of a row of the group).</summary>
    public const int ColumnTile = 32;

    /// <summary>Threads that share one column in <see cref="Columns{T}"/>, each summing every ColumnSlices-th row.</summary>
    public const int ColumnSlices = 8;

    /// <summary>
    /// y[row] = fold(x[row, 0..cols)) / divisor: the sum (divisor 1), the mean (divisor cols), or
    /// the max or min (divisor 1). Launched with groups of MaxGroup / width rows.
    /// </summary>
    public static void Rows<T, TFold>(ArrayView<T> x, ArrayView<T> y, int rows, int cols, int width, T divisor)
        where T : unmanaged, INumber<T> where TFold : struct, IRowFold<T>
    {
        var scratch = SharedMemory.Allocate<T>(SegmentReduce.MaxGroup);
        int row = SegmentReduce.Row(width), lane = SegmentReduce.Lane(width);
        TFold fold = default;
        T acc = T.Zero;
        if (row < rows)
        {
            long start = (long)row * cols;
            acc = fold.Seed(cols > 0 ? x[start] : T.Zero);
            // Lane l folds columns l, l + width, ...: neighbouring threads read neighbouring elements.
            for (int c = lane; c < cols; c += width) acc = fold.Combine(acc, x[start + c]);
        }
        acc = SegmentReduce.All<T, TFold>(scratch, acc, width);
        if (row < rows && lane == 0) y[row] = acc / divisor;
    }

    /// <summary>
    /// y[row] = the sum of squared deviations of row <c>row</c> from its mean (sum / count),
    /// divided by denominator (cols - correction). Two passes over the row, as on the CPU: more
    /// accurate than E[x^2] - E[x]^2.
    /// </summary>
    public static void Variance<T>(ArrayView<T> x, ArrayView<T> y, int rows, int cols, int width, T count, T denominator)
        where T : unmanaged, INumber<T>
    {
        var scratch = SharedMemory.Allocate<T>(SegmentReduce.MaxGroup);
        int row = SegmentReduce.Row(width), lane = SegmentReduce.Lane(width);
        long start = (long)row * cols;
        T sum = T.Zero;
        if (row < rows)
            for (int c = lane; c < cols; c += width) sum += x[start + c];
        T mean = SegmentReduce.All<T, AddCombine<T>>(scratch, sum, width) / count;
        T squares = T.Zero;
        if (row < rows)
            for (int c = lane; c < cols; c += width)
            {
                T d = x[start + c] - mean;
                squares += d * d;
            }
        squares = SegmentReduce.All<T, AddCombine<T>>(scratch, squares, width);
        if (row < rows && lane == 0) y[row] = squares / denominator;
    }

    /// <summary>
    /// y[row] = the column index of row <c>row</c>'s extreme value in <typeparamref name="TOrder"/>
    /// (argmax or argmin), the first one on ties; cols is at least 1.
    /// </summary>
    public static void ArgRows<T, TOrder>(ArrayView<T> x, ArrayView<long> y, int rows, int cols, int width)
        where T : unmanaged, INumber<T> where TOrder : struct, IExtremeOrder<T>
    {
        var scratch = SharedMemory.Allocate<ArgCandidate<T>>(SegmentReduce.MaxGroup);
        int row = SegmentReduce.Row(width), lane = SegmentReduce.Lane(width);
        var fold = default(ArgFold<T, TOrder>);
        var best = new ArgCandidate<T>(T.Zero, 0);
        if (row < rows)
        {
            long start = (long)row * cols;
            // Lanes past the row's end start from column 0: a repeated candidate changes nothing.
            int first = lane < cols ? lane : 0;
            best = new ArgCandidate<T>(x[start + first], first);
            for (int c = lane + width; c < cols; c += width) best = fold.Combine(best, new ArgCandidate<T>(x[start + c], c));
        }
        best = SegmentReduce.All<ArgCandidate<T>, ArgFold<T, TOrder>>(scratch, best, width);
        if (row < rows && lane == 0) y[row] = best.Index;
    }

    /// <summary>
    /// y[col] = (the sum over rows of x[row, col]) / divisor: the sum (divisor 1) or mean
    /// (divisor rows) over the leading axes, as for a bias gradient. Groups of ColumnTile x
    /// ColumnSlices threads: the ColumnTile threads of a slice read neighbouring columns of one row
    /// (coalesced), each slice sums every ColumnSlices-th row, and the slices' sums meet in shared
    /// memory.
    /// </summary>
    public static void Columns<T>(ArrayView<T> x, ArrayView<T> y, int rows, int cols, T divisor) where T : unmanaged, INumber<T>
    {
        var partial = SharedMemory.Allocate<T>(ColumnTile * ColumnSlices);
        int lid = Group.IdxX, tx = lid % ColumnTile, slice = lid / ColumnTile;
        int col = Grid.IdxX * ColumnTile + tx;
        T sum = T.Zero;
        if (col < cols)
            for (int r = slice; r < rows; r += ColumnSlices) sum += x[(long)r * cols + col];
        partial[lid] = sum;
        Group.Barrier();
        if (slice == 0 && col < cols)
        {
            T total = partial[tx];
            for (int s = 1; s < ColumnSlices; s++) total += partial[s * ColumnTile + tx];
            y[col] = total / divisor;
        }
    }
}
