using ILGPU;
using SoftmaxKernels = Tensorium.Kernels.Gpu.Softmax;

namespace Tensorium;

/// <summary>
/// Softmax and log-softmax along rows on ILGPU (Kernels/Gpu/Softmax.cs), forward and backward,
/// with the CPU kernels' semantics; float32 and float64.
/// </summary>
internal static class GpuSoftmax
{
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int>> ForwardFloat32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<float>, int, int, int>(SoftmaxKernels.Forward);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<double>, ArrayView<double>, int, int, int>> ForwardFloat64 =
        IlgpuKernels.Grouped<ArrayView<double>, ArrayView<double>, int, int, int>(SoftmaxKernels.Forward);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int>> LogForwardFloat32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<float>, int, int, int>(SoftmaxKernels.LogForward);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<double>, ArrayView<double>, int, int, int>> LogForwardFloat64 =
        IlgpuKernels.Grouped<ArrayView<double>, ArrayView<double>, int, int, int>(SoftmaxKernels.LogForward);

    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>> BackwardFloat32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(SoftmaxKernels.Backward);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int, int>> BackwardFloat64 =
        IlgpuKernels.Grouped<ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int, int>(SoftmaxKernels.Backward);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>> LogBackwardFloat32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(SoftmaxKernels.LogBackward);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int, int>> LogBackwardFloat64 =
        IlgpuKernels.Grouped<ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int, int>(SoftmaxKernels.LogBackward);

    public static void Forward(IlgpuBackend backend, bool log, Tensor x, Tensor y, int rows, int cols)
    {
        string name = log ? "log_softmax" : "softmax";
        CheckShape(name, rows, cols);
        if (rows == 0 || cols == 0) return;
        var launch = RowLaunch.For(rows, cols);
        if (y.DType == DType.Float32)
            (log ? LogForwardFloat32 : ForwardFloat32).On(backend)(launch.Config, backend.View<float>(x, name), backend.View<float>(y, name), rows, cols, launch.Width);
        else
            (log ? LogForwardFloat64 : ForwardFloat64).On(backend)(launch.Config, backend.View<double>(x, name), backend.View<double>(y, name), rows, cols, launch.Width);
    }

    public static void Backward(IlgpuBackend backend, bool log, Tensor y, Tensor gradY, Tensor gradX, int rows, int cols)
    {
        string name = log ? "log_softmax_backward" : "softmax_backward";
        CheckShape(name, rows, cols);
        if (rows == 0 || cols == 0) return;
        var launch = RowLaunch.For(rows, cols);
        if (gradX.DType == DType.Float32)
            (log ? LogBackwardFloat32 : BackwardFloat32).On(backend)(launch.Config,
                backend.View<float>(y, name), backend.View<float>(gradY, name), backend.View<float>(gradX, name), rows, cols, launch.Width);
        else
            (log ? LogBackwardFloat64 : BackwardFloat64).On(backend)(launch.Config,
                backend.View<double>(y, name), backend.View<double>(gradY, name), backend.View<double>(gradX, name), rows, cols, launch.Width);
    }

    /// <summary>The CPU kernels' check, with their message: a negative extent is refused before anything runs.</summary>
    private static void CheckShape(string op, int rows, int cols)
    {
        if (rows < 0 || cols < 0)
            throw new ArgumentOutOfRangeException(rows < 0 ? nameof(rows) : nameof(cols),
                $"{op}: expected a non-negative shape, got rows={rows}, cols={cols}.");
    }
}
