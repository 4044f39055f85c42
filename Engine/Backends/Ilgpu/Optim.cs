using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>Fused optimizer steps. Placeholder: the family's ILGPU kernels replace this file.</summary>
internal static class GpuOptim
{
    public static void Step(IlgpuBackend backend, OptimizerKind kind, Tensor param, Tensor grad, Tensor? state1, Tensor? state2, OptimizerHyper h) =>
        throw new NotSupportedException("optimizer_step: not on ILGPU yet");
}
