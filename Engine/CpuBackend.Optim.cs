using System.Numerics;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>The fused optimizer updates of the CPU backend.</summary>
internal sealed unsafe partial class CpuBackend
{
    public void OptimizerStep(OptimizerKind kind, Tensor param, Tensor grad, Tensor? state1, Tensor? state2, OptimizerHyper h)
    {
        switch (param.DType)
        {
            case DType.Float32: OptimizerStep<float>(kind, param, grad, state1, state2, h); break;
            case DType.Float64: OptimizerStep<double>(kind, param, grad, state1, state2, h); break;
            default: throw Unsupported(kind.ToString().ToLowerInvariant(), param.DType);
        }
    }

    private static void OptimizerStep<T>(OptimizerKind kind, Tensor param, Tensor grad, Tensor? state1, Tensor? state2, OptimizerHyper h)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* p = Ptr<T>(param), g = Ptr<T>(grad);
        T* s1 = state1 == null ? null : Ptr<T>(state1), s2 = state2 == null ? null : Ptr<T>(state2);
        int n = param.Count;
        switch (kind)
        {
            case OptimizerKind.Sgd: OptimizerSteps.Sgd(p, g, s1, n, h); break;
            case OptimizerKind.Adam: OptimizerSteps.Adam(p, g, s1, s2, n, h, decoupled: false); break;
            case OptimizerKind.AdamW: OptimizerSteps.Adam(p, g, s1, s2, n, h, decoupled: true); break;
            case OptimizerKind.RmsProp: OptimizerSteps.RmsProp(p, g, s1, s2, n, h); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "optimizer step: unknown optimizer kind.");
        }
    }
}
