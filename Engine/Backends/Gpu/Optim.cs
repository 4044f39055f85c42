using System.Numerics;
using ILGPU;
using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// The fused optimizer steps on ILGPU (Kernels/Gpu/Optim.cs): one thread per element, in place,
/// with the constants of <see cref="OptimizerCoefficients{T}"/> that the CPU uses too. Arguments
/// arrive validated (FusedOptimizer.Step checks the states, the step count and the sizes).
/// </summary>
internal static class GpuOptim
{
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, OptimizerCoefficients<float>>> SgdFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, OptimizerCoefficients<float>>(Optim.Sgd);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, OptimizerCoefficients<double>>> SgdFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, OptimizerCoefficients<double>>(Optim.Sgd);

    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, OptimizerCoefficients<float>>> AdamFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, OptimizerCoefficients<float>>(Optim.Adam);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, OptimizerCoefficients<double>>> AdamFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, OptimizerCoefficients<double>>(Optim.Adam);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, OptimizerCoefficients<float>>> AdamWFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, OptimizerCoefficients<float>>(Optim.AdamW);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, OptimizerCoefficients<double>>> AdamWFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, OptimizerCoefficients<double>>(Optim.AdamW);

    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, OptimizerCoefficients<float>>> RmsPropFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, OptimizerCoefficients<float>>(Optim.RmsProp);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, OptimizerCoefficients<double>>> RmsPropFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, OptimizerCoefficients<double>>(Optim.RmsProp);

    public static void Step(IlgpuBackend backend, OptimizerKind kind, Tensor param, Tensor grad, Tensor? state1, Tensor? state2, OptimizerHyper h)
    {
        if (param.Count == 0) return;
        switch (param.DType)
        {
            case DType.Float32: Step(backend, kind, param, grad, state1, state2, new OptimizerCoefficients<float>(h),
                SgdFloat32, AdamFloat32, AdamWFloat32, RmsPropFloat32); break;
            case DType.Float64: Step(backend, kind, param, grad, state1, state2, new OptimizerCoefficients<double>(h),
                SgdFloat64, AdamFloat64, AdamWFloat64, RmsPropFloat64); break;
            default: throw new NotSupportedException($"{Name(kind)}: dtype {param.DType.Name()} is not supported on {backend.Device} for this op.");
        }
    }

    /// <summary>
    /// Launches <paramref name="kind"/>'s kernel for element type <typeparamref name="T"/>. A state
    /// the step leaves alone (no momentum) is absent: the parameter's view stands in for it, and
    /// the kernel neither reads nor writes it.
    /// </summary>
    private static void Step<T>(IlgpuBackend backend, OptimizerKind kind, Tensor param, Tensor grad, Tensor? state1, Tensor? state2, OptimizerCoefficients<T> c,
        IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, OptimizerCoefficients<T>>> sgd,
        IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, OptimizerCoefficients<T>>> adam,
        IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, OptimizerCoefficients<T>>> adamW,
        IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, OptimizerCoefficients<T>>> rmsProp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string op = Name(kind);
        int n = param.Count;
        var p = backend.View<T>(param, op);
        var g = backend.View<T>(grad, op);
        var s1 = state1 is null ? p : backend.View<T>(state1, op);
        var s2 = state2 is null ? p : backend.View<T>(state2, op);
        switch (kind)
        {
            case OptimizerKind.Sgd: sgd.On(backend)(n, p, g, s1, c); break;
            case OptimizerKind.Adam: adam.On(backend)(n, p, g, s1, s2, c); break;
            case OptimizerKind.AdamW: adamW.On(backend)(n, p, g, s1, s2, c); break;
            case OptimizerKind.RmsProp: rmsProp.On(backend)(n, p, g, s1, s2, c); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "optimizer step: unknown optimizer kind.");
        }
    }

    private static string Name(OptimizerKind kind) => kind.ToString().ToLowerInvariant();
}
