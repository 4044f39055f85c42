using System.Numerics;
using Tensorium.Kernels.Ops;
using static Tensorium.CpuTensor;

namespace Tensorium;

/// <summary>The CPU's 2-D convolution and its two backward passes (Kernels/Cpu/Conv2d.cs: im2col and the GEMM).</summary>
internal static unsafe class CpuConv
{
    public static void Forward(Conv2dGeometry g, Tensor input, Tensor weight, Tensor? bias, Tensor output) =>
        DTypeDispatch.Float(output.DType, new ForwardOp(g, input, weight, bias, output));

    private readonly struct ForwardOp(Conv2dGeometry g, Tensor input, Tensor weight, Tensor? bias, Tensor output) : IFloatDTypeOp
    {
        public string Name => "conv2d";
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            Kernels.Cpu.Conv2d.Forward(g, Ptr<T>(input), Ptr<T>(weight), PtrOrNull<T>(bias), Ptr<T>(output));
    }

    public static void BackwardInput(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput) =>
        DTypeDispatch.Float(gradInput.DType, new BackwardInputOp(g, gradOutput, weight, gradInput));

    private readonly struct BackwardInputOp(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput) : IFloatDTypeOp
    {
        public string Name => "conv2d";
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            Kernels.Cpu.Conv2d.BackwardInput(g, Ptr<T>(gradOutput), Ptr<T>(weight), Ptr<T>(gradInput));
    }

    public static void BackwardWeight(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor? gradBias) =>
        DTypeDispatch.Float(gradWeight.DType, new BackwardWeightOp(g, input, gradOutput, gradWeight, gradBias));

    private readonly struct BackwardWeightOp(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor? gradBias) : IFloatDTypeOp
    {
        public string Name => "conv2d";
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            Kernels.Cpu.Conv2d.BackwardWeight(g, Ptr<T>(input), Ptr<T>(gradOutput), Ptr<T>(gradWeight), PtrOrNull<T>(gradBias));
    }
}
