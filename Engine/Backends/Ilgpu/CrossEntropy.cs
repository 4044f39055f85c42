using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>Fused softmax cross-entropy and its backward pass. Placeholder: the family's ILGPU kernels replace this file.</summary>
internal static class GpuCrossEntropy
{
    public static void Forward(IlgpuBackend backend, Tensor logits, Tensor labels, Tensor loss, Tensor logSumExp, int rows, int classes, int ignoreIndex, double labelSmoothing) =>
        throw new NotSupportedException("cross_entropy: not on ILGPU yet");

    public static void Backward(IlgpuBackend backend, Tensor logits, Tensor logSumExp, Tensor labels, Tensor scale, Tensor gradLogits, int rows, int classes, int ignoreIndex, double labelSmoothing) =>
        throw new NotSupportedException("cross_entropy_backward: not on ILGPU yet");
}
