using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>Scaled dot-product attention, forward and backward. Placeholder: the family's ILGPU kernels replace this file.</summary>
internal static class GpuAttention
{
    public static void Forward(IlgpuBackend backend, AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp) =>
        throw new NotSupportedException("attention: not on ILGPU yet");

    public static void Backward(IlgpuBackend backend, AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp, Tensor gradOutput, Tensor gradQ, Tensor gradK, Tensor gradV) =>
        throw new NotSupportedException("attention_backward: not on ILGPU yet");
}
