using System.Numerics;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;
using static Tensorium.CpuTensor;

namespace Tensorium;

/// <summary>The CPU's fused scaled dot-product attention, forward and backward (Kernels/Cpu/Attention.cs).</summary>
internal static unsafe class CpuAttention
{
    public static void Forward(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp) =>
        DTypeDispatch.Float(q.DType, new ForwardOp(g, q, k, v, mask, output, logSumExp));

    private readonly struct ForwardOp(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp)
        : IFloatDTypeOp
    {
        public string Name => "attention";
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            Kernels.Cpu.Attention.Forward(g, Ptr<T>(q), Ptr<T>(k), Ptr<T>(v), Mask<T>(mask), Ptr<T>(output), Ptr<T>(logSumExp));
    }

    public static void Backward(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp,
        Tensor gradOutput, Tensor gradQ, Tensor gradK, Tensor gradV) =>
        DTypeDispatch.Float(q.DType, new BackwardOp(g, q, k, v, mask, output, logSumExp, gradOutput, gradQ, gradK, gradV));

    private readonly struct BackwardOp(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp,
        Tensor gradOutput, Tensor gradQ, Tensor gradK, Tensor gradV) : IFloatDTypeOp
    {
        public string Name => "attention";
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            Kernels.Cpu.Attention.Backward(g, Ptr<T>(q), Ptr<T>(k), Ptr<T>(v), Mask<T>(mask), Ptr<T>(output), Ptr<T>(logSumExp),
                Ptr<T>(gradOutput), Ptr<T>(gradQ), Ptr<T>(gradK), Ptr<T>(gradV));
    }

    /// <summary>A [B, H, Lq, Lk] mask view as the kernel's strided mask description.</summary>
    private static AttentionMask<T> Mask<T>(Tensor? mask) where T : unmanaged
    {
        if (mask == null) return AttentionMask<T>.None;
        var s = mask.Layout.Strides;
        return new AttentionMask<T>(Ptr<T>(mask), mask.Layout.Shape[1], s[0], s[1], s[2], s[3]);
    }
}
