using ILGPU;
using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// 2-D max pooling on ILGPU (Kernels/Gpu/Pool.cs), with the CPU kernel's semantics: the forward
/// pass writes each window's maximum and its argmax (int32, the index inside the (n, c) plane);
/// the backward pass is a gather over the windows covering each input, so it needs no atomics
/// and sums in a fixed order.
/// </summary>
internal static class GpuPool
{
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, Pool2dGeometry>> ForwardFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, Pool2dGeometry>(Pool.MaxPool2dForward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<int>, Pool2dGeometry>> ForwardFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<int>, Pool2dGeometry>(Pool.MaxPool2dForward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, Pool2dGeometry>> BackwardFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, Pool2dGeometry>(Pool.MaxPool2dBackward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<int>, ArrayView<double>, Pool2dGeometry>> BackwardFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<int>, ArrayView<double>, Pool2dGeometry>(Pool.MaxPool2dBackward);

    public static void MaxPool2d(IlgpuBackend backend, Pool2dGeometry g, Tensor input, Tensor output, Tensor argmax)
    {
        const string op = "max_pool2d";
        int n = Threads(backend, op, (long)g.Batch * g.Channels * g.OutHeight * g.OutWidth);
        if (n == 0) return;
        switch (output.DType)
        {
            case DType.Float32:
                ForwardFloat32.On(backend)(n, backend.View<float>(input, op), backend.View<float>(output, op), backend.View<int>(argmax, op), g);
                break;
            case DType.Float64:
                ForwardFloat64.On(backend)(n, backend.View<double>(input, op), backend.View<double>(output, op), backend.View<int>(argmax, op), g);
                break;
            default: throw Unsupported(backend, op, output.DType);
        }
    }

    public static void MaxPool2dBackward(IlgpuBackend backend, Pool2dGeometry g, Tensor gradOutput, Tensor argmax, Tensor gradInput)
    {
        const string op = "max_pool2d_backward";
        int n = Threads(backend, op, (long)g.Batch * g.Channels * g.InHeight * g.InWidth);
        if (n == 0) return;
        switch (gradInput.DType)
        {
            case DType.Float32:
                BackwardFloat32.On(backend)(n, backend.View<float>(gradOutput, op), backend.View<int>(argmax, op), backend.View<float>(gradInput, op), g);
                break;
            case DType.Float64:
                BackwardFloat64.On(backend)(n, backend.View<double>(gradOutput, op), backend.View<int>(argmax, op), backend.View<double>(gradInput, op), g);
                break;
            default: throw Unsupported(backend, op, gradInput.DType);
        }
    }

    /// <summary>One thread per element: the count must fit the kernels' int indexing.</summary>
    private static int Threads(IlgpuBackend backend, string op, long count) =>
        count <= int.MaxValue ? (int)count : throw new NotSupportedException($"{op}: {count} elements is more than one launch on {backend.Device} handles ({int.MaxValue}).");

    private static NotSupportedException Unsupported(IlgpuBackend backend, string op, DType dtype) =>
        new($"{op}: dtype {dtype.Name()} is not supported on {backend.Device} for this op.");
}
