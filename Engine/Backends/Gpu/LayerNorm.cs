using System.Numerics;
using ILGPU;
using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;
using LayerNormKernels = Tensorium.Kernels.Gpu.LayerNorm;

namespace Tensorium;

/// <summary>
/// Layer normalisation on ILGPU (Kernels/Gpu/LayerNorm.cs), forward and backward, with the CPU
/// kernels' semantics; float32 and float64. An absent weight, bias or gradient has x's (or
/// gradY's) view stand in for it, and the shape tells the kernel not to touch it.
/// </summary>
internal static class GpuLayerNorm
{
    private const string Op = LayerNormGeometry.OpName;

    private static readonly IlgpuKernel<Action<KernelConfig, LayerNormShape<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<float>>> ForwardFloat32 =
        IlgpuKernels.Grouped<LayerNormShape<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>>(LayerNormKernels.Forward);
    private static readonly IlgpuKernel<Action<KernelConfig, LayerNormShape<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>,
        ArrayView<double>, ArrayView<double>, ArrayView<double>>> ForwardFloat64 =
        IlgpuKernels.Grouped<LayerNormShape<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>,
            ArrayView<double>>(LayerNormKernels.Forward);

    private static readonly IlgpuKernel<Action<KernelConfig, LayerNormShape<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<float>>> InputFloat32 =
        IlgpuKernels.Grouped<LayerNormShape<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>>(LayerNormKernels.BackwardInput);
    private static readonly IlgpuKernel<Action<KernelConfig, LayerNormShape<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>,
        ArrayView<double>, ArrayView<double>, ArrayView<double>>> InputFloat64 =
        IlgpuKernels.Grouped<LayerNormShape<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>,
            ArrayView<double>>(LayerNormKernels.BackwardInput);

    private static readonly IlgpuKernel<Action<Index1D, LayerNormShape<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<float>>> ColumnsFloat32 =
        IlgpuKernels.Auto<Index1D, LayerNormShape<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>>(LayerNormKernels.BackwardColumns);
    private static readonly IlgpuKernel<Action<Index1D, LayerNormShape<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>,
        ArrayView<double>, ArrayView<double>, ArrayView<double>>> ColumnsFloat64 =
        IlgpuKernels.Auto<Index1D, LayerNormShape<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>,
            ArrayView<double>>(LayerNormKernels.BackwardColumns);

    public static void Forward(IlgpuBackend backend, LayerNormGeometry g, Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd)
    {
        g.Validate();
        if (g.Rows == 0 || g.Cols == 0) return;
        if (y.DType == DType.Float64) Forward(backend, ForwardFloat64, g, x, weight, bias, y, mean, rstd);
        else Forward(backend, ForwardFloat32, g, x, weight, bias, y, mean, rstd);
    }

    private static void Forward<T>(IlgpuBackend backend,
        IlgpuKernel<Action<KernelConfig, LayerNormShape<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>>> kernel,
        LayerNormGeometry g, Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var launch = RowLaunch.For(g.Rows, g.Cols);
        var xv = backend.View<T>(x, Op);
        kernel.On(backend)(launch.Config, Shape<T>(g, launch.Width, weight != null, bias != null), xv,
            weight == null ? xv : backend.View<T>(weight, Op), bias == null ? xv : backend.View<T>(bias, Op),
            backend.View<T>(y, Op), backend.View<T>(mean, Op), backend.View<T>(rstd, Op));
    }

    public static void Backward(IlgpuBackend backend, LayerNormGeometry g, Tensor x, Tensor? weight, Tensor mean, Tensor rstd, Tensor gradY,
        Tensor? gradX, Tensor? gradWeight, Tensor? gradBias)
    {
        g.Validate();
        if (g.Cols == 0) return;
        if (g.Rows == 0)
        {
            // Empty column sums.
            if (gradWeight != null) backend.Fill(gradWeight, 0);
            if (gradBias != null) backend.Fill(gradBias, 0);
            return;
        }
        if (gradY.DType == DType.Float64) Backward(backend, InputFloat64, ColumnsFloat64, g, x, weight, mean, rstd, gradY, gradX, gradWeight, gradBias);
        else Backward(backend, InputFloat32, ColumnsFloat32, g, x, weight, mean, rstd, gradY, gradX, gradWeight, gradBias);
    }

    private static void Backward<T>(IlgpuBackend backend,
        IlgpuKernel<Action<KernelConfig, LayerNormShape<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>>> input,
        IlgpuKernel<Action<Index1D, LayerNormShape<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>>> columns,
        LayerNormGeometry g, Tensor x, Tensor? weight, Tensor mean, Tensor rstd, Tensor gradY, Tensor? gradX, Tensor? gradWeight, Tensor? gradBias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xv = backend.View<T>(x, Op);
        var meanView = backend.View<T>(mean, Op);
        var rstdView = backend.View<T>(rstd, Op);
        var gy = backend.View<T>(gradY, Op);
        if (gradX != null)
        {
            var launch = RowLaunch.For(g.Rows, g.Cols);
            input.On(backend)(launch.Config, Shape<T>(g, launch.Width, weight != null, false), xv,
                weight == null ? xv : backend.View<T>(weight, Op), meanView, rstdView, gy, backend.View<T>(gradX, Op));
        }
        if (gradWeight != null || gradBias != null)
            columns.On(backend)(g.Cols, Shape<T>(g, 1, gradWeight != null, gradBias != null), xv, meanView, rstdView, gy,
                gradWeight == null ? gy : backend.View<T>(gradWeight, Op), gradBias == null ? gy : backend.View<T>(gradBias, Op));
    }

    private static LayerNormShape<T> Shape<T>(LayerNormGeometry g, int width, bool hasWeight, bool hasBias)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        new(g.Rows, g.Cols, width, T.CreateChecked(g.Eps), T.CreateChecked(g.Cols), hasWeight, hasBias);
}
