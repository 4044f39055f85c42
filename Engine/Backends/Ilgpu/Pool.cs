using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>Max-pooling with argmax, and its backward pass. Placeholder: the family's ILGPU kernels replace this file.</summary>
internal static class GpuPool
{
    public static void MaxPool2d(IlgpuBackend backend, Pool2dGeometry g, Tensor input, Tensor output, Tensor argmax) =>
        throw new NotSupportedException("max_pool2d: not on ILGPU yet");

    public static void MaxPool2dBackward(IlgpuBackend backend, Pool2dGeometry g, Tensor gradOutput, Tensor argmax, Tensor gradInput) =>
        throw new NotSupportedException("max_pool2d_backward: not on ILGPU yet");
}
