using ILGPU;
using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;
using ReduceKernels = Tensorium.Kernels.Gpu.Reduce;

namespace Tensorium;

/// <summary>
/// Reductions on ILGPU (Kernels/Gpu/Reduce.cs): sum, mean, max, min and variance along the rows
/// of a contiguous [rows, cols] matrix, argmax and argmin along rows, and sum and mean over
/// columns. One kernel instantiation per (reduction, dtype), picked by a switch on the dtype.
/// </summary>
internal static class GpuReduce
{
    // y[row] = fold(row) / divisor: sum and mean share SumFold, max and min their ExtremeFold.
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int, float>> SumFloat32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<float>, int, int, int, float>(ReduceKernels.Rows<float, SumFold<float>>);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<double>, ArrayView<double>, int, int, int, double>> SumFloat64 =
        IlgpuKernels.Grouped<ArrayView<double>, ArrayView<double>, int, int, int, double>(ReduceKernels.Rows<double, SumFold<double>>);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<int>, ArrayView<int>, int, int, int, int>> SumInt32 =
        IlgpuKernels.Grouped<ArrayView<int>, ArrayView<int>, int, int, int, int>(ReduceKernels.Rows<int, SumFold<int>>);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<long>, ArrayView<long>, int, int, int, long>> SumInt64 =
        IlgpuKernels.Grouped<ArrayView<long>, ArrayView<long>, int, int, int, long>(ReduceKernels.Rows<long, SumFold<long>>);

    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int, float>> MaxFloat32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<float>, int, int, int, float>(ReduceKernels.Rows<float, ExtremeFold<float, MaxOrder<float>>>);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<double>, ArrayView<double>, int, int, int, double>> MaxFloat64 =
        IlgpuKernels.Grouped<ArrayView<double>, ArrayView<double>, int, int, int, double>(ReduceKernels.Rows<double, ExtremeFold<double, MaxOrder<double>>>);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<int>, ArrayView<int>, int, int, int, int>> MaxInt32 =
        IlgpuKernels.Grouped<ArrayView<int>, ArrayView<int>, int, int, int, int>(ReduceKernels.Rows<int, ExtremeFold<int, MaxOrder<int>>>);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<long>, ArrayView<long>, int, int, int, long>> MaxInt64 =
        IlgpuKernels.Grouped<ArrayView<long>, ArrayView<long>, int, int, int, long>(ReduceKernels.Rows<long, ExtremeFold<long, MaxOrder<long>>>);

    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int, float>> MinFloat32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<float>, int, int, int, float>(ReduceKernels.Rows<float, ExtremeFold<float, MinOrder<float>>>);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<double>, ArrayView<double>, int, int, int, double>> MinFloat64 =
        IlgpuKernels.Grouped<ArrayView<double>, ArrayView<double>, int, int, int, double>(ReduceKernels.Rows<double, ExtremeFold<double, MinOrder<double>>>);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<int>, ArrayView<int>, int, int, int, int>> MinInt32 =
        IlgpuKernels.Grouped<ArrayView<int>, ArrayView<int>, int, int, int, int>(ReduceKernels.Rows<int, ExtremeFold<int, MinOrder<int>>>);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<long>, ArrayView<long>, int, int, int, long>> MinInt64 =
        IlgpuKernels.Grouped<ArrayView<long>, ArrayView<long>, int, int, int, long>(ReduceKernels.Rows<long, ExtremeFold<long, MinOrder<long>>>);

    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int, float, float>> VarFloat32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<float>, int, int, int, float, float>(ReduceKernels.Variance);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<double>, ArrayView<double>, int, int, int, double, double>> VarFloat64 =
        IlgpuKernels.Grouped<ArrayView<double>, ArrayView<double>, int, int, int, double, double>(ReduceKernels.Variance);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<int>, ArrayView<int>, int, int, int, int, int>> VarInt32 =
        IlgpuKernels.Grouped<ArrayView<int>, ArrayView<int>, int, int, int, int, int>(ReduceKernels.Variance);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<long>, ArrayView<long>, int, int, int, long, long>> VarInt64 =
        IlgpuKernels.Grouped<ArrayView<long>, ArrayView<long>, int, int, int, long, long>(ReduceKernels.Variance);

    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<long>, int, int, int>> ArgMaxFloat32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<long>, int, int, int>(ReduceKernels.ArgRows<float, MaxOrder<float>>);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<double>, ArrayView<long>, int, int, int>> ArgMaxFloat64 =
        IlgpuKernels.Grouped<ArrayView<double>, ArrayView<long>, int, int, int>(ReduceKernels.ArgRows<double, MaxOrder<double>>);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<int>, ArrayView<long>, int, int, int>> ArgMaxInt32 =
        IlgpuKernels.Grouped<ArrayView<int>, ArrayView<long>, int, int, int>(ReduceKernels.ArgRows<int, MaxOrder<int>>);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<long>, ArrayView<long>, int, int, int>> ArgMaxInt64 =
        IlgpuKernels.Grouped<ArrayView<long>, ArrayView<long>, int, int, int>(ReduceKernels.ArgRows<long, MaxOrder<long>>);

    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<long>, int, int, int>> ArgMinFloat32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<long>, int, int, int>(ReduceKernels.ArgRows<float, MinOrder<float>>);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<double>, ArrayView<long>, int, int, int>> ArgMinFloat64 =
        IlgpuKernels.Grouped<ArrayView<double>, ArrayView<long>, int, int, int>(ReduceKernels.ArgRows<double, MinOrder<double>>);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<int>, ArrayView<long>, int, int, int>> ArgMinInt32 =
        IlgpuKernels.Grouped<ArrayView<int>, ArrayView<long>, int, int, int>(ReduceKernels.ArgRows<int, MinOrder<int>>);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<long>, ArrayView<long>, int, int, int>> ArgMinInt64 =
        IlgpuKernels.Grouped<ArrayView<long>, ArrayView<long>, int, int, int>(ReduceKernels.ArgRows<long, MinOrder<long>>);

    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, float>> ColumnsFloat32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<float>, int, int, float>(ReduceKernels.Columns);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<double>, ArrayView<double>, int, int, double>> ColumnsFloat64 =
        IlgpuKernels.Grouped<ArrayView<double>, ArrayView<double>, int, int, double>(ReduceKernels.Columns);

    public static void Rows(IlgpuBackend backend, ReduceOp op, Tensor x, Tensor y, int rows, int cols, int correction)
    {
        string name = op.ToString().ToLowerInvariant();
        if (rows == 0) return;
        bool isInt = !x.DType.IsFloating();
        // The CPU fails the same way: TensorPrimitives.Max/Min on an empty row, and integer division
        // by zero (0 / 0 for an empty mean, or cols - correction == 0 for a variance).
        if (op is ReduceOp.Max or ReduceOp.Min && cols == 0)
            throw new ArgumentException($"{name}: cannot reduce over an empty row.", nameof(x));
        if (isInt && ((op is ReduceOp.Mean or ReduceOp.Var && cols == 0) || (op == ReduceOp.Var && cols - correction == 0)))
            throw new DivideByZeroException();

        var launch = RowLaunch.For(rows, cols);
        // Sum divides by 1 (exact), mean by the row length; the divisor is converted here, as the CPU does.
        int divisor = op == ReduceOp.Mean ? cols : 1;
        switch (op, x.DType)
        {
            case (ReduceOp.Sum or ReduceOp.Mean, DType.Float32): Fold(backend, SumFloat32, launch, x, y, rows, cols, (float)divisor, name); break;
            case (ReduceOp.Sum or ReduceOp.Mean, DType.Float64): Fold(backend, SumFloat64, launch, x, y, rows, cols, (double)divisor, name); break;
            case (ReduceOp.Sum or ReduceOp.Mean, DType.Int32): Fold(backend, SumInt32, launch, x, y, rows, cols, divisor, name); break;
            case (ReduceOp.Sum or ReduceOp.Mean, DType.Int64): Fold(backend, SumInt64, launch, x, y, rows, cols, (long)divisor, name); break;
            case (ReduceOp.Max, DType.Float32): Fold(backend, MaxFloat32, launch, x, y, rows, cols, 1f, name); break;
            case (ReduceOp.Max, DType.Float64): Fold(backend, MaxFloat64, launch, x, y, rows, cols, 1d, name); break;
            case (ReduceOp.Max, DType.Int32): Fold(backend, MaxInt32, launch, x, y, rows, cols, 1, name); break;
            case (ReduceOp.Max, DType.Int64): Fold(backend, MaxInt64, launch, x, y, rows, cols, 1L, name); break;
            case (ReduceOp.Min, DType.Float32): Fold(backend, MinFloat32, launch, x, y, rows, cols, 1f, name); break;
            case (ReduceOp.Min, DType.Float64): Fold(backend, MinFloat64, launch, x, y, rows, cols, 1d, name); break;
            case (ReduceOp.Min, DType.Int32): Fold(backend, MinInt32, launch, x, y, rows, cols, 1, name); break;
            case (ReduceOp.Min, DType.Int64): Fold(backend, MinInt64, launch, x, y, rows, cols, 1L, name); break;
            case (ReduceOp.Var, DType.Float32): Variance(backend, VarFloat32, launch, x, y, rows, cols, cols, cols - correction); break;
            case (ReduceOp.Var, DType.Float64): Variance(backend, VarFloat64, launch, x, y, rows, cols, (double)cols, (double)(cols - correction)); break;
            case (ReduceOp.Var, DType.Int32): Variance(backend, VarInt32, launch, x, y, rows, cols, cols, cols - correction); break;
            case (ReduceOp.Var, DType.Int64): Variance(backend, VarInt64, launch, x, y, rows, cols, (long)cols, (long)(cols - correction)); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, $"{name}: no GPU reduction for dtype {x.DType.Name()}.");
        }
    }

    public static void ArgRows(IlgpuBackend backend, bool max, Tensor x, Tensor y, int rows, int cols)
    {
        string name = max ? "argmax" : "argmin";
        if (rows == 0) return;
        if (cols == 0) throw new ArgumentException($"{name}: cannot reduce over an empty row.", nameof(x));
        var launch = RowLaunch.For(rows, cols);
        switch (max, x.DType)
        {
            case (true, DType.Float32): Arg(backend, ArgMaxFloat32, launch, x, y, rows, cols, name); break;
            case (true, DType.Float64): Arg(backend, ArgMaxFloat64, launch, x, y, rows, cols, name); break;
            case (true, DType.Int32): Arg(backend, ArgMaxInt32, launch, x, y, rows, cols, name); break;
            case (true, DType.Int64): Arg(backend, ArgMaxInt64, launch, x, y, rows, cols, name); break;
            case (false, DType.Float32): Arg(backend, ArgMinFloat32, launch, x, y, rows, cols, name); break;
            case (false, DType.Float64): Arg(backend, ArgMinFloat64, launch, x, y, rows, cols, name); break;
            case (false, DType.Int32): Arg(backend, ArgMinInt32, launch, x, y, rows, cols, name); break;
            default: Arg(backend, ArgMinInt64, launch, x, y, rows, cols, name); break;
        }
    }

    /// <summary>
    /// y[c] = the sum (or mean) over rows of x[r, c], read in place: neighbouring threads take
    /// neighbouring columns, so no transposed copy of x is needed (the CPU multiplies by a row of ones instead).
    /// </summary>
    public static void Columns(IlgpuBackend backend, ReduceOp op, Tensor x, Tensor y, int rows, int cols)
    {
        string name = op.ToString().ToLowerInvariant();
        if (op is not (ReduceOp.Sum or ReduceOp.Mean))
            throw new ArgumentOutOfRangeException(nameof(op), op, $"{name}: columns reduce by sum or mean only.");
        if (cols == 0) return;
        var config = new KernelConfig((cols + ReduceKernels.ColumnTile - 1) / ReduceKernels.ColumnTile, ReduceKernels.ColumnTile * ReduceKernels.ColumnSlices);
        // The mean divides the column's sum by rows (0 / 0 = NaN for no rows, as a float mean of nothing).
        int divisor = op == ReduceOp.Mean ? rows : 1;
        if (x.DType == DType.Float32)
            ColumnsFloat32.On(backend)(config, backend.View<float>(x, name), backend.View<float>(y, name), rows, cols, divisor);
        else
            ColumnsFloat64.On(backend)(config, backend.View<double>(x, name), backend.View<double>(y, name), rows, cols, divisor);
    }

    private static void Fold<T>(IlgpuBackend backend, IlgpuKernel<Action<KernelConfig, ArrayView<T>, ArrayView<T>, int, int, int, T>> kernel,
        RowLaunch launch, Tensor x, Tensor y, int rows, int cols, T divisor, string name) where T : unmanaged =>
        kernel.On(backend)(launch.Config, backend.View<T>(x, name), backend.View<T>(y, name), rows, cols, launch.Width, divisor);

    private static void Variance<T>(IlgpuBackend backend, IlgpuKernel<Action<KernelConfig, ArrayView<T>, ArrayView<T>, int, int, int, T, T>> kernel,
        RowLaunch launch, Tensor x, Tensor y, int rows, int cols, T count, T denominator) where T : unmanaged =>
        kernel.On(backend)(launch.Config, backend.View<T>(x, "var"), backend.View<T>(y, "var"), rows, cols, launch.Width, count, denominator);

    private static void Arg<T>(IlgpuBackend backend, IlgpuKernel<Action<KernelConfig, ArrayView<T>, ArrayView<long>, int, int, int>> kernel,
        RowLaunch launch, Tensor x, Tensor y, int rows, int cols, string name) where T : unmanaged =>
        kernel.On(backend)(launch.Config, backend.View<T>(x, name), backend.View<long>(y, name), rows, cols, launch.Width);
}
