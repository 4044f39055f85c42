using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>Reductions over rows and columns, and arg-reductions. Placeholder: the family's ILGPU kernels replace this file.</summary>
internal static class GpuReduce
{
    public static void Rows(IlgpuBackend backend, ReduceOp op, Tensor x, Tensor y, int rows, int cols, int correction) =>
        throw new NotSupportedException("reduce_rows: not on ILGPU yet");

    public static void ArgRows(IlgpuBackend backend, bool max, Tensor x, Tensor y, int rows, int cols) =>
        throw new NotSupportedException("arg_reduce_rows: not on ILGPU yet");

    public static void Columns(IlgpuBackend backend, ReduceOp op, Tensor x, Tensor y, int rows, int cols) =>
        throw new NotSupportedException("reduce_columns: not on ILGPU yet");
}
