using System.Numerics;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;
using static Tensorium.CpuTensor;

namespace Tensorium;

/// <summary>The CPU's fused optimizer updates (Kernels/Cpu/OptimizerSteps.cs).</summary>
internal static unsafe class CpuOptim
{
    public static void Step(OptimizerKind kind, Tensor param, Tensor grad, Tensor? state1, Tensor? state2, OptimizerHyper h) =>
        DTypeDispatch.Float(param.DType, new StepOp(kind, param, grad, state1, state2, h));

    private readonly struct StepOp(OptimizerKind kind, Tensor param, Tensor grad, Tensor? state1, Tensor? state2, OptimizerHyper h) : IFloatDTypeOp
    {
        public string Name => kind.ToString().ToLowerInvariant();

        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            T* p = Ptr<T>(param), g = Ptr<T>(grad), s1 = PtrOrNull<T>(state1), s2 = PtrOrNull<T>(state2);
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
}
