using ILGPU;
using Tensorium.Kernels.Gpu;
using CrossEntropyKernels = Tensorium.Kernels.Gpu.CrossEntropy;

namespace Tensorium;

/// <summary>
/// Fused softmax cross-entropy on ILGPU (Kernels/Gpu/CrossEntropy.cs), forward and backward, with
/// the CPU kernel's semantics; float32 and float64. Labels arrive checked by the cross_entropy op.
/// </summary>
internal static class GpuCrossEntropy
{
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<long>, ArrayView<float>, ArrayView<float>, int, int, CrossEntropyTerms<float>>> ForwardFloat32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<long>, ArrayView<float>, ArrayView<float>, int, int, CrossEntropyTerms<float>>(CrossEntropyKernels.Forward);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<double>, ArrayView<long>, ArrayView<double>, ArrayView<double>, int, int, CrossEntropyTerms<double>>> ForwardFloat64 =
        IlgpuKernels.Grouped<ArrayView<double>, ArrayView<long>, ArrayView<double>, ArrayView<double>, int, int, CrossEntropyTerms<double>>(CrossEntropyKernels.Forward);

    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<long>, ArrayView<float>, int, ArrayView<float>, CrossEntropyTerms<float>>> BackwardFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<long>, ArrayView<float>, int, ArrayView<float>, CrossEntropyTerms<float>>(CrossEntropyKernels.Backward);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<long>, ArrayView<double>, int, ArrayView<double>, CrossEntropyTerms<double>>> BackwardFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<long>, ArrayView<double>, int, ArrayView<double>, CrossEntropyTerms<double>>(CrossEntropyKernels.Backward);

    public static void Forward(IlgpuBackend backend, Tensor logits, Tensor labels, Tensor loss, Tensor logSumExp, int rows, int classes, int ignoreIndex, double labelSmoothing)
    {
        const string op = "cross_entropy";
        if (rows == 0) return;
        var launch = RowLaunch.For(rows, classes);
        if (logits.DType == DType.Float32)
            ForwardFloat32.On(backend)(launch.Config, backend.View<float>(logits, op), backend.View<long>(labels, op), backend.View<float>(loss, op),
                backend.View<float>(logSumExp, op), rows, launch.Width, new CrossEntropyTerms<float>(classes, ignoreIndex, labelSmoothing));
        else
            ForwardFloat64.On(backend)(launch.Config, backend.View<double>(logits, op), backend.View<long>(labels, op), backend.View<double>(loss, op),
                backend.View<double>(logSumExp, op), rows, launch.Width, new CrossEntropyTerms<double>(classes, ignoreIndex, labelSmoothing));
    }

    public static void Backward(IlgpuBackend backend, Tensor logits, Tensor logSumExp, Tensor labels, Tensor scale, Tensor gradLogits,
        int rows, int classes, int ignoreIndex, double labelSmoothing)
    {
        const string op = "cross_entropy_backward";
        long count = (long)rows * classes;
        if (count == 0) return;
        if (count > int.MaxValue)
            throw new NotSupportedException($"{op}: {rows} x {classes} logits exceed the GPU kernel's int32 element index.");
        // A [rows] view of any stride: stride 0 broadcasts one scale to every row.
        int scaleStride = scale.Layout.Strides[0];
        if (logits.DType == DType.Float32)
            BackwardFloat32.On(backend)((int)count, backend.View<float>(logits, op), backend.View<float>(logSumExp, op), backend.View<long>(labels, op),
                backend.View<float>(scale, op), scaleStride, backend.View<float>(gradLogits, op), new CrossEntropyTerms<float>(classes, ignoreIndex, labelSmoothing));
        else
            BackwardFloat64.On(backend)((int)count, backend.View<double>(logits, op), backend.View<double>(logSumExp, op), backend.View<long>(labels, op),
                backend.View<double>(scale, op), scaleStride, backend.View<double>(gradLogits, op), new CrossEntropyTerms<double>(classes, ignoreIndex, labelSmoothing));
    }
}
