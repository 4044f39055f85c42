using System.Numerics;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;
using static Tensorium.CpuTensor;

namespace Tensorium;

/// <summary>The CPU's 2-D max pooling (Kernels/Cpu/MaxPool2d.cs).</summary>
internal static unsafe class CpuPool
{
    public static void MaxPool2d(Pool2dGeometry g, Tensor input, Tensor output, Tensor argmax) =>
        DTypeDispatch.Float(output.DType, new ForwardOp(g, input, output, argmax));

    private readonly struct ForwardOp(Pool2dGeometry g, Tensor input, Tensor output, Tensor argmax) : IFloatDTypeOp
    {
        public string Name => "max_pool2d";
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            Kernels.Cpu.MaxPool2d.Forward(g, Ptr<T>(input), Ptr<T>(output), Ptr<int>(argmax));
    }

    public static void MaxPool2dBackward(Pool2dGeometry g, Tensor gradOutput, Tensor argmax, Tensor gradInput) =>
        DTypeDispatch.Float(gradInput.DType, new BackwardOp(g, gradOutput, argmax, gradInput));

    private readonly struct BackwardOp(Pool2dGeometry g, Tensor gradOutput, Tensor argmax, Tensor gradInput) : IFloatDTypeOp
    {
        public string Name => "max_pool2d";
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            Kernels.Cpu.MaxPool2d.Backward(g, Ptr<T>(gradOutput), Ptr<int>(argmax), Ptr<T>(gradInput));
    }
}
