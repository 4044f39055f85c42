using System.Numerics;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;
using static Tensorium.CpuTensor;

namespace Tensorium;

/// <summary>The CPU's reductions: along rows, arg-max/min along rows, and over leading axes (columns).</summary>
internal static unsafe class CpuReduce
{
    public static void Rows(ReduceOp op, Tensor x, Tensor y, int rows, int cols, int correction) =>
        DTypeDispatch.Any(x.DType, new RowsOp(op, x, y, rows, cols, correction));

    private readonly struct RowsOp(ReduceOp op, Tensor x, Tensor y, int rows, int cols, int correction) : IAnyDTypeOp
    {
        public string Name => op.ToString().ToLowerInvariant();
        public void Run<T>() where T : unmanaged, INumber<T> => Reduce.Rows(op, Ptr<T>(x), Ptr<T>(y), rows, cols, correction);
    }

    public static void ArgRows(bool max, Tensor x, Tensor y, int rows, int cols) =>
        DTypeDispatch.Any(x.DType, new ArgRowsOp(max, x, y, rows, cols));

    private readonly struct ArgRowsOp(bool max, Tensor x, Tensor y, int rows, int cols) : IAnyDTypeOp
    {
        public string Name => max ? "argmax" : "argmin";
        public void Run<T>() where T : unmanaged, INumber<T> => Reduce.ArgRows(max, Ptr<T>(x), Ptr<long>(y), rows, cols);
    }

    public static void Columns(ReduceOp op, Tensor x, Tensor y, int rows, int cols) =>
        DTypeDispatch.Any(x.DType, new ColumnsOp(op, x, y, rows, cols));

    private readonly struct ColumnsOp(ReduceOp op, Tensor x, Tensor y, int rows, int cols) : IAnyDTypeOp
    {
        public string Name => op.ToString().ToLowerInvariant();
        public void Run<T>() where T : unmanaged, INumber<T> => Reduce.Columns(op, Ptr<T>(x), Ptr<T>(y), rows, cols);
    }
}
