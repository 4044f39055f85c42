using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

// Row reductions (reduce.gpu): sum, mean, var, max, min, argmax, argmin over a contiguous [rows, cols] matrix.
internal sealed partial class GpuBackend
{
    /// <summary>Rows at most this long are reduced by one work-item each rather than one work-group each.</summary>
    private const int ShortRow = 16;

    /// <summary>
    /// <see cref="Kernel"/> plus, for integer types, WRAP: the unsigned type of the same width, in which
    /// reduce.gpu and indexing.gpu add so that sums wrap around as C#'s unchecked ones do.
    /// </summary>
    private GpuKernel WrapKernel(string file, string name, DType dtype, params string[] defines) => dtype switch
    {
        DType.Int32 => Kernel(file, name, dtype, [.. defines, "WRAP=u32"]),
        DType.Int64 => Kernel(file, name, dtype, [.. defines, "WRAP=u64"]),
        _ => Kernel(file, name, dtype, defines),
    };

    /// <summary>
    /// Launches a row kernel: its "_small" form with one work-item per row when rows are short, else
    /// one work-group per row, as many work-items as the row is long rounded up to a power of two
    /// (at most <see cref="GroupSize"/>, the kernels' GROUP).
    /// </summary>
    private void LaunchRows(string name, DType dtype, int rows, int cols, KernelArgs args)
    {
        if (rows == 0) return;
        if (cols <= ShortRow)
        {
            Launch1D(WrapKernel("reduce", name + "_small", dtype, "GROUP=" + GroupSize), rows, args);
            return;
        }
        int local = 32;
        while (local < cols && local < GroupSize) local *= 2;
        Runtime.Launch(WrapKernel("reduce", name, dtype, "GROUP=" + GroupSize), (rows, 1, 1), (local, 1, 1), args);
    }

    public void ReduceColumns(ReduceOp op, Tensor x, Tensor y, int rows, int cols)
    {
        // The row kernels, on x copied transposed: a GEMM with a row of ones (the CPU's way) would
        // be one work-item per column looping over every row, where a row reduction's work-group
        // shares each sum.
        using var columns = x.View(new Layout([cols, rows], [1, cols], x.Layout.Offset), "sum");
        using var transposed = columns.ContiguousCopy("sum");
        ReduceRows(op, transposed, y, cols, rows, 0);
    }

    public void ReduceRows(ReduceOp op, Tensor x, Tensor y, int rows, int cols, int correction)
    {
        const string name = "reduce";
        if (rows == 0) return;
        bool isInt = !x.DType.IsFloating();
        switch (op)
        {
            case ReduceOp.Max or ReduceOp.Min:
                // TensorPrimitives.Max/Min on an empty row: the CPU throws the same type.
                if (cols == 0) throw new ArgumentException($"{(op == ReduceOp.Max ? "max" : "min")}: cannot reduce over an empty row.", nameof(x));
                var extreme = new KernelArgs();
                Arg(Arg(extreme, x, name), y, name).Int(rows).Int(cols).Int(op == ReduceOp.Max ? 1 : 0);
                LaunchRows("extreme_rows", x.DType, rows, cols, extreme);
                return;
            case ReduceOp.Sum or ReduceOp.Mean or ReduceOp.Var:
                // Integer division by zero throws on the CPU (0 / 0 for an empty mean, or n - correction == 0).
                if (isInt && ((op != ReduceOp.Sum && cols == 0) || (op == ReduceOp.Var && cols - correction == 0)))
                    throw new DivideByZeroException();
                var args = new KernelArgs();
                Arg(Arg(args, x, name), y, name).Int(rows).Int(cols).Int(op == ReduceOp.Var ? correction : op == ReduceOp.Mean ? 1 : 0);
                LaunchRows(op == ReduceOp.Var ? "var_rows" : "sum_rows", x.DType, rows, cols, args);
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduction");
        }
    }

    public void ArgReduceRows(bool max, Tensor x, Tensor y, int rows, int cols)
    {
        const string name = "argreduce";
        if (rows == 0) return;
        if (cols == 0) throw new ArgumentException($"{(max ? "argmax" : "argmin")}: cannot reduce over an empty row.", nameof(x));
        var args = new KernelArgs();
        Arg(Arg(args, x, name), y, name).Int(rows).Int(cols).Int(max ? 1 : 0);
        LaunchRows("arg_rows", x.DType, rows, cols, args);
    }
}
