using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>The GPU's softmax and log-softmax (softmax.gpu), with the CPU kernels' semantics.</summary>
internal sealed partial class GpuBackend
{
    /// <summary>Most work-items per softmax work-group: softmax.gpu's MAX_GROUP.</summary>
    private const int SoftmaxMaxGroup = 256;

    public void Softmax(bool log, Tensor x, Tensor y, int rows, int cols)
    {
        CheckRows(log ? "log_softmax" : "softmax", rows, cols);
        if (rows == 0 || cols == 0) return;
        var args = new KernelArgs();
        Arg(args, x, "softmax");
        Arg(args, y, "softmax").Int(rows).Int(cols).Int(log ? 1 : 0);
        Runtime.Launch(Kernel("softmax", "softmax_forward", y.DType), (rows, 1, 1), (SoftmaxGroup(cols), 1, 1), args);
    }

    public void SoftmaxBackward(bool log, Tensor y, Tensor gradY, Tensor gradX, int rows, int cols)
    {
        CheckRows(log ? "log_softmax_backward" : "softmax_backward", rows, cols);
        if (rows == 0 || cols == 0) return;
        var args = new KernelArgs();
        Arg(args, y, "softmax");
        Arg(args, gradY, "softmax");
        Arg(args, gradX, "softmax").Int(rows).Int(cols).Int(log ? 1 : 0);
        Runtime.Launch(Kernel("softmax", "softmax_backward", gradX.DType), (rows, 1, 1), (SoftmaxGroup(cols), 1, 1), args);
    }

    private static void CheckRows(string op, int rows, int cols)
    {
        if (rows < 0 || cols < 0)
            throw new ArgumentOutOfRangeException(rows < 0 ? nameof(rows) : nameof(cols),
                $"{op}: expected a non-negative shape, got rows={rows}, cols={cols}.");
    }

    /// <summary>Work-items per softmax row: a power of two covering the row, from one warp (32) to 256.</summary>
    private static int SoftmaxGroup(int cols)
    {
        int size = 32;
        while (size < cols && size < SoftmaxMaxGroup) size *= 2;
        return size;
    }

}
