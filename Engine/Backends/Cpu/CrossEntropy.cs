using System.Numerics;
using static Tensorium.CpuTensor;

namespace Tensorium;

/// <summary>The CPU's fused softmax cross-entropy (Kernels/Cpu/CrossEntropy.cs).</summary>
internal static unsafe class CpuCrossEntropy
{
    public static void Forward(Tensor logits, Tensor labels, Tensor loss, Tensor logSumExp, int rows, int classes, int ignoreIndex, double labelSmoothing) =>
        DTypeDispatch.Float(logits.DType, new ForwardOp(logits, labels, loss, logSumExp, rows, classes, ignoreIndex, labelSmoothing));

    private readonly struct ForwardOp(Tensor logits, Tensor labels, Tensor loss, Tensor logSumExp, int rows, int classes, int ignoreIndex, double labelSmoothing)
        : IFloatDTypeOp
    {
        public string Name => "cross_entropy";
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            Kernels.Cpu.CrossEntropy.Forward(Ptr<T>(logits), Ptr<long>(labels), Ptr<T>(loss), Ptr<T>(logSumExp), rows, classes, ignoreIndex, labelSmoothing);
    }

    public static void Backward(Tensor logits, Tensor logSumExp, Tensor labels, Tensor scale, Tensor gradLogits,
        int rows, int classes, int ignoreIndex, double labelSmoothing) =>
        DTypeDispatch.Float(logits.DType, new BackwardOp(logits, logSumExp, labels, scale, gradLogits, rows, classes, ignoreIndex, labelSmoothing));

    private readonly struct BackwardOp(Tensor logits, Tensor logSumExp, Tensor labels, Tensor scale, Tensor gradLogits,
        int rows, int classes, int ignoreIndex, double labelSmoothing) : IFloatDTypeOp
    {
        public string Name => "cross_entropy";
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            Kernels.Cpu.CrossEntropy.Backward(Ptr<T>(logits), Ptr<T>(logSumExp), Ptr<long>(labels), Ptr<T>(scale), scale.Layout.Strides[0],
                Ptr<T>(gradLogits), rows, classes, ignoreIndex, labelSmoothing);
    }
}
