using System.Numerics;
using ILGPU;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Softmax and log-softmax over the rows of a contiguous [rows, cols] matrix, forward and
/// backward, with the CPU kernels' semantics (Kernels/Cpu/Softmax.cs, PyTorch's): a row of all
/// -inf, or one holding +inf or NaN, gives NaN everywhere. Each row is handled by one segment of
/// threads (see <see cref="SegmentReduce"/>); y may be x, and gradX may be y or gradY (each
/// element is read and then written by the same thread).
/// </summary>
public static class Softmax
{
    /// <summary>y = softmax(x) = exp(x - max) / sum(exp(x - max)) along each row.</summary>
    public static void Forward<T>(ArrayView<T> x, ArrayView<T> y, int rows, int cols, int width)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var scratch = SharedMemory.Allocate<Normaliser<T>>(SegmentReduce.MaxGroup);
        int row = SegmentReduce.Row(width), lane = SegmentReduce.Lane(width);
        long start = (long)row * cols;
        var n = RowNormaliser(scratch, x, start, row < rows ? cols : 0, width, lane);
        if (row >= rows) return;
        // One division per row, then a multiply per element, as on the CPU.
        T inverse = T.One / n.Sum;
        for (int c = lane; c < cols; c += width) y[start + c] = T.Exp(x[start + c] - n.Max) * inverse;
    }

    /// <summary>y = log_softmax(x) = (x - max) - log(sum(exp(x - max))) along each row.</summary>
    public static void LogForward<T>(ArrayView<T> x, ArrayView<T> y, int rows, int cols, int width)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var scratch = SharedMemory.Allocate<Normaliser<T>>(SegmentReduce.MaxGroup);
        int row = SegmentReduce.Row(width), lane = SegmentReduce.Lane(width);
        long start = (long)row * cols;
        var n = RowNormaliser(scratch, x, start, row < rows ? cols : 0, width, lane);
        if (row >= rows) return;
        // Subtracting in two steps keeps entries near the maximum exact, as on the CPU.
        T logSum = T.Log(n.Sum);
        for (int c = lane; c < cols; c += width) y[start + c] = x[start + c] - n.Max - logSum;
    }

    /// <summary>Softmax's gradient from its output y: gradX = (gradY - sum(gradY * y)) * y per row.</summary>
    public static void Backward<T>(ArrayView<T> y, ArrayView<T> gradY, ArrayView<T> gradX, int rows, int cols, int width)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var scratch = SharedMemory.Allocate<T>(SegmentReduce.MaxGroup);
        int row = SegmentReduce.Row(width), lane = SegmentReduce.Lane(width);
        long start = (long)row * cols;
        T dot = T.Zero;
        if (row < rows)
            for (int c = lane; c < cols; c += width) dot += gradY[start + c] * y[start + c];
        dot = SegmentReduce.All<T, AddCombine<T>>(scratch, dot, width);
        if (row >= rows) return;
        for (int c = lane; c < cols; c += width) gradX[start + c] = (gradY[start + c] - dot) * y[start + c];
    }

    /// <summary>Log-softmax's gradient from its output y: gradX = gradY - exp(y) * sum(gradY) per row (exp(y) is the softmax).</summary>
    public static void LogBackward<T>(ArrayView<T> y, ArrayView<T> gradY, ArrayView<T> gradX, int rows, int cols, int width)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var scratch = SharedMemory.Allocate<T>(SegmentReduce.MaxGroup);
        int row = SegmentReduce.Row(width), lane = SegmentReduce.Lane(width);
        long start = (long)row * cols;
        T sum = T.Zero;
        if (row < rows)
            for (int c = lane; c < cols; c += width) sum += gradY[start + c];
        sum = SegmentReduce.All<T, AddCombine<T>>(scratch, sum, width);
        if (row >= rows) return;
        for (int c = lane; c < cols; c += width) gradX[start + c] = gradY[start + c] - T.Exp(y[start + c]) * sum;
    }

    /// <summary>
    /// The row's maximum and sum of exp(x - max), in one pass over it: each thread keeps a running
    /// normaliser over its columns, then the segment merges them. A row whose maximum is not
    /// finite (all -inf, or +inf present) gets sum NaN, as on the CPU where exp(x - max) is NaN
    /// for the maximum itself. Every thread of the group calls it (it holds barriers); threads
    /// past the last row pass cols = 0.
    /// </summary>
    private static Normaliser<T> RowNormaliser<T>(ArrayView<Normaliser<T>> scratch, ArrayView<T> x, long start, int cols, int width, int lane)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var n = new Normaliser<T>(T.NegativeInfinity, T.Zero);
        for (int c = lane; c < cols; c += width) n = n.Add(x[start + c]);
        n = SegmentReduce.All<Normaliser<T>, NormaliserMerge<T>>(scratch, n, width);
        return T.IsFinite(n.Max) ? n : new Normaliser<T>(n.Max, T.NaN);
    }
}
