using Tensorium.Kernels.Gpu;

namespace Tensorium;

// Fused softmax cross-entropy (cross_entropy.gpu), with the CPU kernel's semantics. Labels arrive
// checked by the cross_entropy op.
internal sealed partial class GpuBackend
{
    public void CrossEntropy(Tensor logits, Tensor labels, Tensor loss, Tensor logSumExp, int rows, int classes, int ignoreIndex, double labelSmoothing)
    {
        const string op = "cross_entropy";
        if (rows == 0) return;
        var args = new KernelArgs();
        Arg(args, logits, op);
        Arg(args, labels, op);
        Arg(args, loss, op);
        Arg(args, logSumExp, op).Int(rows).Int(classes).Int(ignoreIndex).Real(labelSmoothing, logits.DType == DType.Float64);
        // One work-group per row, sized like softmax's: a power of two covering the row, at most 256.
        Runtime.Launch(Kernel("cross_entropy", "cross_entropy_forward", logits.DType), (rows, 1, 1), (SoftmaxGroup(classes), 1, 1), args);
    }

    public void CrossEntropyBackward(Tensor logits, Tensor logSumExp, Tensor labels, Tensor scale, Tensor gradLogits,
        int rows, int classes, int ignoreIndex, double labelSmoothing)
    {
        const string op = "cross_entropy";
        long count = CheckedCount(op, (long)rows * classes);
        var args = new KernelArgs();
        Arg(args, logits, op);
        Arg(args, logSumExp, op);
        Arg(args, labels, op);
        Arg(args, scale, op).Int(scale.Layout.Strides[0]);
        Arg(args, gradLogits, op).Int((int)count).Int(classes).Int(ignoreIndex).Real(labelSmoothing, logits.DType == DType.Float64);
        Launch1D(Kernel("cross_entropy", "cross_entropy_backward", logits.DType), count, args);
    }
}
