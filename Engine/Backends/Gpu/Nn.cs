using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// The neural-network kernels of the GPU backend: max-pool (pool.gpu), softmax (softmax.gpu)
/// and flash-style attention (attention.gpu), with the CPU kernels' semantics.
/// </summary>
internal sealed partial class GpuBackend
{
    /// <summary>Largest head dim (D and Dv) attention.gpu supports: its MAX_HEAD_DIM.</summary>
    private const int AttentionMaxHeadDim = 256;

    /// <summary>Work-items per attention work-group, one query or key row each: attention.gpu's ROWS.</summary>
    private const int AttentionRows = 64;

    /// <summary>Most work-items per softmax work-group: softmax.gpu's MAX_GROUP.</summary>
    private const int SoftmaxMaxGroup = 256;

    public void MaxPool2d(Pool2dGeometry g, Tensor input, Tensor output, Tensor argmax) =>
        LaunchPool("max_pool2d_forward", g, input, output, argmax, (long)g.Batch * g.Channels * g.OutHeight * g.OutWidth);

    public void MaxPool2dBackward(Pool2dGeometry g, Tensor gradOutput, Tensor argmax, Tensor gradInput) =>
        LaunchPool("max_pool2d_backward", g, gradOutput, argmax, gradInput, (long)g.Batch * g.Channels * g.InHeight * g.InWidth);

    /// <summary>
    /// Runs pool.gpu's <paramref name="kernel"/> on (a, b, c) with one work-item per output element;
    /// a (the input, or the output's gradient) has the element type the kernel is built for.
    /// </summary>
    private void LaunchPool(string kernel, Pool2dGeometry g, Tensor a, Tensor b, Tensor c, long outputs)
    {
        const string op = "max_pool2d";
        long count = CheckedCount(op, outputs);
        var args = new KernelArgs();
        Arg(Arg(Arg(args, a, op), b, op), c, op);
        PoolGeometry(args.Int((int)count), g);
        Launch1D(Kernel("pool", kernel, a.DType), count, args);
    }

    private static void PoolGeometry(KernelArgs args, Pool2dGeometry g) =>
        args.Int(g.InHeight).Int(g.InWidth).Int(g.OutHeight).Int(g.OutWidth)
            .Int(g.KernelHeight).Int(g.KernelWidth).Int(g.StrideH).Int(g.StrideW).Int(g.PadH).Int(g.PadW);

    /// <summary>Throws when one work-item per element would exceed the kernels' int indexing.</summary>
    private long CheckedCount(string op, long count) =>
        count <= int.MaxValue ? count : throw new NotSupportedException($"{op}: {count} elements is more than one launch on {Device} handles ({int.MaxValue}).");

    public void Softmax(bool log, Tensor x, Tensor y, int rows, int cols)
    {
        CheckRows(log ? "log_softmax" : "softmax", rows, cols);
        if (rows == 0 || cols == 0) return;
        var args = new KernelArgs();
        Arg(args, x, "softmax");
        Arg(args, y, "softmax").Int(rows).Int(cols).Int(log ? 1 : 0);
        Runtime.Launch(Kernel("softmax", "softmax_forward", y.DType), (rows, 1, 1), (SoftmaxGroup(cols), 1, 1), args);
    }

    public void SoftmaxBackward(bool log, Tensor y, Tensor gradY, Tensor gradX, int rows, int cols)
    {
        CheckRows(log ? "log_softmax_backward" : "softmax_backward", rows, cols);
        if (rows == 0 || cols == 0) return;
        var args = new KernelArgs();
        Arg(args, y, "softmax");
        Arg(args, gradY, "softmax");
        Arg(args, gradX, "softmax").Int(rows).Int(cols).Int(log ? 1 : 0);
        Runtime.Launch(Kernel("softmax", "softmax_backward", gradX.DType), (rows, 1, 1), (SoftmaxGroup(cols), 1, 1), args);
    }

    private static void CheckRows(string op, int rows, int cols)
    {
        if (rows < 0 || cols < 0)
            throw new ArgumentOutOfRangeException(rows < 0 ? nameof(rows) : nameof(cols),
                $"{op}: expected a non-negative shape, got rows={rows}, cols={cols}.");
    }

    /// <summary>Work-items per softmax row: a power of two covering the row, from one warp (32) to 256.</summary>
    private static int SoftmaxGroup(int cols)
    {
        int size = 32;
        while (size < cols && size < SoftmaxMaxGroup) size *= 2;
        return size;
    }

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
