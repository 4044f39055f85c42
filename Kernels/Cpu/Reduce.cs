using System.Numerics;
using System.Numerics.Tensors;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// Reductions over the rows of a contiguous [rows, cols] matrix. The engine brings any set of
/// axes into that form (permute the reduced axes last, copy if needed), so this is all it needs.
/// </summary>
public static unsafe class Reduce
{
    /// <summary>y[r] = op(x[r, 0..cols)).</summary>
    public static void Rows<T>(ReduceOp op, T* x, T* y, int rows, int cols, int correction = 1)
        where T : unmanaged, INumber<T>
    {
        nint px = (nint)x, py = (nint)y;
        CpuParallel.For(rows, r =>
        {
            var row = new ReadOnlySpan<T>((T*)px + (long)r * cols, cols);
            ((T*)py)[r] = op switch
            {
                ReduceOp.Sum => TensorPrimitives.Sum(row),
                ReduceOp.Mean => TensorPrimitives.Sum(row) / T.CreateTruncating(cols),
                ReduceOp.Max => TensorPrimitives.Max(row),
                ReduceOp.Min => TensorPrimitives.Min(row),
                ReduceOp.Var => Variance(row, correction),
                _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduction"),
            };
        }, cols);
    }

    /// <summary>y[r] = index of the largest (or smallest) value of row r; the first one on ties.</summary>
    public static void ArgRows<T>(bool max, T* x, long* y, int rows, int cols) where T : unmanaged, INumber<T>
    {
        nint px = (nint)x, py = (nint)y;
        CpuParallel.For(rows, r =>
        {
            var row = new ReadOnlySpan<T>((T*)px + (long)r * cols, cols);
            ((long*)py)[r] = max ? TensorPrimitives.IndexOfMax(row) : TensorPrimitives.IndexOfMin(row);
        }, cols);
    }

    // Two passes (mean, then squared deviations): more accurate than E[x^2] - E[x]^2.
    private static T Variance<T>(ReadOnlySpan<T> row, int correction) where T : unmanaged, INumber<T>
    {
        T mean = TensorPrimitives.Sum(row) / T.CreateTruncating(row.Length);
        T sum = T.Zero;
        foreach (var v in row) sum += (v - mean) * (v - mean);
        return sum / T.CreateTruncating(row.Length - correction);
    }
}
