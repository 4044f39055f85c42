using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>The neural-network kernels of the CPU backend: conv, pool, softmax, attention.</summary>
internal sealed unsafe partial class CpuBackend
{
    public void Conv2d(Conv2dGeometry g, Tensor input, Tensor weight, Tensor? bias, Tensor output)
    {
        if (output.DType == DType.Float32)
            Kernels.Cpu.Conv2d.Forward(g, Ptr<float>(input), Ptr<float>(weight), bias == null ? null : Ptr<float>(bias), Ptr<float>(output));
        else
            Kernels.Cpu.Conv2d.Forward(g, Ptr<double>(input), Ptr<double>(weight), bias == null ? null : Ptr<double>(bias), Ptr<double>(output));
    }

    public void Conv2dBackwardInput(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput)
    {
        if (gradInput.DType == DType.Float32)
            Kernels.Cpu.Conv2d.BackwardInput(g, Ptr<float>(gradOutput), Ptr<float>(weight), Ptr<float>(gradInput));
        else
            Kernels.Cpu.Conv2d.BackwardInput(g, Ptr<double>(gradOutput), Ptr<double>(weight), Ptr<double>(gradInput));
    }

    public void Conv2dBackwardWeight(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor? gradBias)
    {
        if (gradWeight.DType == DType.Float32)
            Kernels.Cpu.Conv2d.BackwardWeight(g, Ptr<float>(input), Ptr<float>(gradOutput), Ptr<float>(gradWeight), gradBias == null ? null : Ptr<float>(gradBias));
        else
            Kernels.Cpu.Conv2d.BackwardWeight(g, Ptr<double>(input), Ptr<double>(gradOutput), Ptr<double>(gradWeight), gradBias == null ? null : Ptr<double>(gradBias));
    }

    public void MaxPool2d(Pool2dGeometry g, Tensor input, Tensor output, Tensor argmax)
    {
        if (output.DType == DType.Float32) Kernels.Cpu.MaxPool2d.Forward(g, Ptr<float>(input), Ptr<float>(output), Ptr<int>(argmax));
        else Kernels.Cpu.MaxPool2d.Forward(g, Ptr<double>(input), Ptr<double>(output), Ptr<int>(argmax));
    }

    public void MaxPool2dBackward(Pool2dGeometry g, Tensor gradOutput, Tensor argmax, Tensor gradInput)
    {
        if (gradInput.DType == DType.Float32) Kernels.Cpu.MaxPool2d.Backward(g, Ptr<float>(gradOutput), Ptr<int>(argmax), Ptr<float>(gradInput));
        else Kernels.Cpu.MaxPool2d.Backward(g, Ptr<double>(gradOutput), Ptr<int>(argmax), Ptr<double>(gradInput));
    }

    public void Softmax(bool log, Tensor x, Tensor y, int rows, int cols)
    {
        if (y.DType == DType.Float32) Softmax(log, Ptr<float>(x), Ptr<float>(y), rows, cols);
        else Softmax(log, Ptr<double>(x), Ptr<double>(y), rows, cols);
    }

    private static void Softmax<T>(bool log, T* x, T* y, int rows, int cols) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        if (log) Kernels.Cpu.Softmax.LogForward(x, y, rows, cols);
        else Kernels.Cpu.Softmax.Forward(x, y, rows, cols);
    }

    public void SoftmaxBackward(bool log, Tensor y, Tensor gradY, Tensor gradX, int rows, int cols)
    {
        if (y.DType == DType.Float32) SoftmaxBackward(log, Ptr<float>(y), Ptr<float>(gradY), Ptr<float>(gradX), rows, cols);
        else SoftmaxBackward(log, Ptr<double>(y), Ptr<double>(gradY), Ptr<double>(gradX), rows, cols);
    }

    private static void SoftmaxBackward<T>(bool log, T* y, T* gradY, T* gradX, int rows, int cols) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        if (log) Kernels.Cpu.Softmax.LogBackward(y, gradY, gradX, rows, cols);
        else Kernels.Cpu.Softmax.Backward(y, gradY, gradX, rows, cols);
    }

    public void Attention(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp)
    {
        if (q.DType == DType.Float32)
            Kernels.Cpu.Attention.Forward(g, Ptr<float>(q), Ptr<float>(k), Ptr<float>(v), Mask<float>(mask), Ptr<float>(output), Ptr<float>(logSumExp));
        else
            Kernels.Cpu.Attention.Forward(g, Ptr<double>(q), Ptr<double>(k), Ptr<double>(v), Mask<double>(mask), Ptr<double>(output), Ptr<double>(logSumExp));
    }

    public void AttentionBackward(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp,
        Tensor gradOutput, Tensor gradQ, Tensor gradK, Tensor gradV)
    {
        if (q.DType == DType.Float32)
            Kernels.Cpu.Attention.Backward(g, Ptr<float>(q), Ptr<float>(k), Ptr<float>(v), Mask<float>(mask), Ptr<float>(output), Ptr<float>(logSumExp),
                Ptr<float>(gradOutput), Ptr<float>(gradQ), Ptr<float>(gradK), Ptr<float>(gradV));
        else
            Kernels.Cpu.Attention.Backward(g, Ptr<double>(q), Ptr<double>(k), Ptr<double>(v), Mask<double>(mask), Ptr<double>(output), Ptr<double>(logSumExp),
                Ptr<double>(gradOutput), Ptr<double>(gradQ), Ptr<double>(gradK), Ptr<double>(gradV));
    }

    /// <summary>A [B, H, Lq, Lk] mask view as the kernel's strided mask description.</summary>
    private static AttentionMask<T> Mask<T>(Tensor? mask) where T : unmanaged
    {
        if (mask == null) return AttentionMask<T>.None;
        var s = mask.Layout.Strides;
        return new AttentionMask<T>(Ptr<T>(mask), mask.Layout.Shape[1], s[0], s[1], s[2], s[3]);
    }
}
