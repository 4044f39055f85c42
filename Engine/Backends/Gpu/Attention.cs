using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>The GPU's flash-style scaled dot-product attention (attention.gpu), with the CPU kernel's semantics.</summary>
internal sealed partial class GpuBackend
{
    /// <summary>Largest head dim (D and Dv) attention.gpu supports: its MAX_HEAD_DIM.</summary>
    private const int AttentionMaxHeadDim = 256;

    /// <summary>Work-items per attention work-group, one query or key row each: attention.gpu's ROWS.</summary>
    private const int AttentionRows = 64;

    public void Attention(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp)
    {
        CheckAttention(g, mask);
        if (g.BatchHeads == 0 || g.QueryLength == 0) return;
        bool isDouble = q.DType == DType.Float64;
        var args = new KernelArgs();
        Arg(args, q, AttentionGeometry.OpName);
        Arg(args, k, AttentionGeometry.OpName);
        Arg(args, v, AttentionGeometry.OpName);
        MaskArgs(args, mask, q);
        Arg(args, output, AttentionGeometry.OpName);
        Arg(args, logSumExp, AttentionGeometry.OpName);
        AttentionSizes(args, g, isDouble);
        LaunchRows(Kernel("attention", "attention_forward", q.DType), g.BatchHeads, g.QueryLength, args);
    }

    public void AttentionBackward(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp,
        Tensor gradOutput, Tensor gradQ, Tensor gradK, Tensor gradV)
    {
        const string op = AttentionGeometry.OpName;
        CheckAttention(g, mask);
        if (g.BatchHeads == 0) return;
        bool isDouble = q.DType == DType.Float64;
        int bh = g.BatchHeads, lq = g.QueryLength;

        // delta = rowsum(dO * O), one value per query row.
        using var delta = Tensor.Empty([bh, lq], q.DType, Device);
        if (lq > 0)
        {
            var deltaArgs = new KernelArgs();
            Arg(deltaArgs, output, op);
            Arg(deltaArgs, gradOutput, op);
            Arg(deltaArgs, delta, op).Int(bh * lq).Int(g.ValueDim);
            Launch1D(Kernel("attention", "attention_backward_delta", q.DType), (long)bh * lq, deltaArgs);
        }

        // dK and dV: a work-group per block of key rows (zeros when there are no queries); dQ: a
        // work-group per block of query rows (zeros when there are no keys). Both read the same
        // inputs and write their own gradients.
        KernelArgs BackwardArgs(params Tensor[] grads)
        {
            var args = new KernelArgs();
            Arg(Arg(Arg(args, q, op), k, op), v, op);
            MaskArgs(args, mask, q);
            Arg(Arg(Arg(args, logSumExp, op), delta, op), gradOutput, op);
            foreach (var grad in grads) Arg(args, grad, op);
            AttentionSizes(args, g, isDouble);
            return args;
        }
        LaunchRows(Kernel("attention", "attention_backward_dkdv", q.DType), bh, g.KeyLength, BackwardArgs(gradK, gradV));
        LaunchRows(Kernel("attention", "attention_backward_dq", q.DType), bh, lq, BackwardArgs(gradQ));
    }

    /// <summary>The CPU kernel's mask check, plus the head-dim limit of the GPU kernels and their int indexing.</summary>
    private void CheckAttention(AttentionGeometry g, Tensor? mask)
    {
        const string op = AttentionGeometry.OpName;
        int heads = mask?.Layout.Shape[1] ?? 1;
        if (heads < 1 || g.BatchHeads % heads != 0)
            throw new ArgumentException($"{op}: mask head count {heads} does not divide BatchHeads {g.BatchHeads}.");
        if (g.HeadDim > AttentionMaxHeadDim || g.ValueDim > AttentionMaxHeadDim)
            throw new NotSupportedException(
                $"{op}: head dim D={g.HeadDim}, Dv={g.ValueDim} exceeds the GPU kernel's limit of {AttentionMaxHeadDim} on {Device}.");
        long rows = (long)g.BatchHeads * Math.Max(g.QueryLength, g.KeyLength);
        if (rows * Math.Max(Math.Max(g.HeadDim, g.ValueDim), 1) > int.MaxValue)
            throw new NotSupportedException($"{op}: {g} is more than the GPU kernels' int indexing handles on {Device}.");
    }

    /// <summary>The mask arguments: buffer, offset, present flag, heads and the four strides (q's buffer stands in when absent).</summary>
    private static void MaskArgs(KernelArgs args, Tensor? mask, Tensor stand)
    {
        const string op = AttentionGeometry.OpName;
        if (mask == null)
        {
            Arg(args, stand, op).Int(0).Int(1).Int(0).Int(0).Int(0).Int(0);
            return;
        }
        var s = mask.Layout.Strides;
        Arg(args, mask, op).Int(1).Int(mask.Layout.Shape[1]).Int(s[0]).Int(s[1]).Int(s[2]).Int(s[3]);
    }

    private static void AttentionSizes(KernelArgs args, AttentionGeometry g, bool isDouble) =>
        args.Int(g.QueryLength).Int(g.KeyLength).Int(g.HeadDim).Int(g.ValueDim).Real(g.Scale, isDouble).Int(g.Causal ? 1 : 0);

    /// <summary>Launches one attention work-group per block of <see cref="AttentionRows"/> rows of each (batch, head).</summary>
    private void LaunchRows(GpuKernel kernel, int batchHeads, int rows, KernelArgs args)
    {
        long groups = (long)batchHeads * ((rows + AttentionRows - 1) / AttentionRows);
        if (groups == 0) return;
        Runtime.Launch(kernel, ((int)groups, 1, 1), (AttentionRows, 1, 1), args);
    }
}
