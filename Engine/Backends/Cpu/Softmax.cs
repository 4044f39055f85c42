using System.Numerics;
using static Tensorium.CpuTensor;

namespace Tensorium;

/// <summary>The CPU's softmax and log-softmax along rows, forward and backward (Kernels/Cpu/Softmax.cs).</summary>
internal static unsafe class CpuSoftmax
{
    public static void Forward(bool log, Tensor x, Tensor y, int rows, int cols) =>
        DTypeDispatch.Float(y.DType, new ForwardOp(log, x, y, rows, cols));

    private readonly struct ForwardOp(bool log, Tensor x, Tensor y, int rows, int cols) : IFloatDTypeOp
    {
        public string Name => log ? "log_softmax" : "softmax";
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (log) Kernels.Cpu.Softmax.LogForward(Ptr<T>(x), Ptr<T>(y), rows, cols);
            else Kernels.Cpu.Softmax.Forward(Ptr<T>(x), Ptr<T>(y), rows, cols);
        }
    }

    public static void Backward(bool log, Tensor y, Tensor gradY, Tensor gradX, int rows, int cols) =>
        DTypeDispatch.Float(y.DType, new BackwardOp(log, y, gradY, gradX, rows, cols));

    private readonly struct BackwardOp(bool log, Tensor y, Tensor gradY, Tensor gradX, int rows, int cols) : IFloatDTypeOp
    {
        public string Name => log ? "log_softmax" : "softmax";
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (log) Kernels.Cpu.Softmax.LogBackward(Ptr<T>(y), Ptr<T>(gradY), Ptr<T>(gradX), rows, cols);
            else Kernels.Cpu.Softmax.Backward(Ptr<T>(y), Ptr<T>(gradY), Ptr<T>(gradX), rows, cols);
        }
    }
}
