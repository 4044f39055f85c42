using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>conv2d forward and both backward passes. Placeholder: the family's ILGPU kernels replace this file.</summary>
internal static class GpuConv
{
    public static void Forward(IlgpuBackend backend, Conv2dGeometry g, Tensor input, Tensor weight, Tensor? bias, Tensor output) =>
        throw new NotSupportedException("conv2d: not on ILGPU yet");

    public static void BackwardInput(IlgpuBackend backend, Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput) =>
        throw new NotSupportedException("conv2d_backward_input: not on ILGPU yet");

    public static void BackwardWeight(IlgpuBackend backend, Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor? gradBias) =>
        throw new NotSupportedException("conv2d_backward_weight: not on ILGPU yet");
}
