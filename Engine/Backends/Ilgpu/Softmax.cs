using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>Softmax and log-softmax over rows, and their backward passes. Placeholder: the family's ILGPU kernels replace this file.</summary>
internal static class GpuSoftmax
{
    public static void Forward(IlgpuBackend backend, bool log, Tensor x, Tensor y, int rows, int cols) =>
        throw new NotSupportedException("softmax: not on ILGPU yet");

    public static void Backward(IlgpuBackend backend, bool log, Tensor y, Tensor gradY, Tensor gradX, int rows, int cols) =>
        throw new NotSupportedException("softmax_backward: not on ILGPU yet");
}
