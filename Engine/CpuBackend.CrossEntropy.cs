namespace Tensorium;

/// <summary>The fused softmax cross-entropy of the CPU backend (Kernels/Cpu/CrossEntropy.cs).</summary>
internal sealed unsafe partial class CpuBackend
{
    public void CrossEntropy(Tensor logits, Tensor labels, Tensor loss, Tensor logSumExp, int rows, int classes, int ignoreIndex, double labelSmoothing)
    {
        if (logits.DType == DType.Float32)
            Kernels.Cpu.CrossEntropy.Forward(Ptr<float>(logits), Ptr<long>(labels), Ptr<float>(loss), Ptr<float>(logSumExp), rows, classes, ignoreIndex, labelSmoothing);
        else
            Kernels.Cpu.CrossEntropy.Forward(Ptr<double>(logits), Ptr<long>(labels), Ptr<double>(loss), Ptr<double>(logSumExp), rows, classes, ignoreIndex, labelSmoothing);
    }

    public void CrossEntropyBackward(Tensor logits, Tensor logSumExp, Tensor labels, Tensor scale, Tensor gradLogits,
        int rows, int classes, int ignoreIndex, double labelSmoothing)
    {
        int scaleStride = scale.Layout.Strides[0];
        if (logits.DType == DType.Float32)
            Kernels.Cpu.CrossEntropy.Backward(Ptr<float>(logits), Ptr<float>(logSumExp), Ptr<long>(labels), Ptr<float>(scale), scaleStride,
                Ptr<float>(gradLogits), rows, classes, ignoreIndex, labelSmoothing);
        else
            Kernels.Cpu.CrossEntropy.Backward(Ptr<double>(logits), Ptr<double>(logSumExp), Ptr<long>(labels), Ptr<double>(scale), scaleStride,
                Ptr<double>(gradLogits), rows, classes, ignoreIndex, labelSmoothing);
    }
}
