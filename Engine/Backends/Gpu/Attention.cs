using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// Scaled dot-product attention on ILGPU, forward and backward (Kernels/Gpu/Attention.cs), with
/// the CPU kernel's semantics: flash-style, so no Lq x Lk score matrix is ever stored; the
/// forward saves logSumExp, from which backward recomputes the probabilities.
/// </summary>
internal static class GpuAttention
{
    private const string Op = AttentionGeometry.OpName;

    private static readonly IlgpuKernel<Action<KernelConfig, AttentionShape<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<float>>> ForwardFloat32 =
        IlgpuKernels.Grouped<AttentionShape<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>>(Attention.Forward);
    private static readonly IlgpuKernel<Action<KernelConfig, AttentionShape<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>,
        ArrayView<double>, ArrayView<double>, ArrayView<double>>> ForwardFloat64 =
        IlgpuKernels.Grouped<AttentionShape<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>,
            ArrayView<double>>(Attention.Forward);

    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>> StatisticsFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(Attention.RowStatistics);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, int>> StatisticsFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, int>(Attention.RowStatistics);

    private static readonly IlgpuKernel<Action<KernelConfig, AttentionShape<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>> KeyValueFloat32 =
        IlgpuKernels.Grouped<AttentionShape<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>>(Attention.BackwardKeyValue);
    private static readonly IlgpuKernel<Action<KernelConfig, AttentionShape<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>,
        ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>>> KeyValueFloat64 =
        IlgpuKernels.Grouped<AttentionShape<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>,
            ArrayView<double>, ArrayView<double>, ArrayView<double>>(Attention.BackwardKeyValue);

    private static readonly IlgpuKernel<Action<KernelConfig, AttentionShape<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>> QueryFloat32 =
        IlgpuKernels.Grouped<AttentionShape<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>>(Attention.BackwardQuery);
    private static readonly IlgpuKernel<Action<KernelConfig, AttentionShape<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>,
        ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>>> QueryFloat64 =
        IlgpuKernels.Grouped<AttentionShape<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>,
            ArrayView<double>, ArrayView<double>>(Attention.BackwardQuery);

    public static void Forward(IlgpuBackend backend, AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp)
    {
        Check(backend, g, mask);
        if (g.BatchHeads == 0 || g.QueryLength == 0) return;
        if (q.DType == DType.Float64) Forward(backend, ForwardFloat64, g, q, k, v, mask, output, logSumExp);
        else Forward(backend, ForwardFloat32, g, q, k, v, mask, output, logSumExp);
    }

    private static void Forward<T>(IlgpuBackend backend,
        IlgpuKernel<Action<KernelConfig, AttentionShape<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>>> kernel,
        AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // logSumExp has BH * Lq > 0 elements here. An empty operand (no keys, or a head dim of 0)
        // is never read, so its view may be logSumExp's instead of a view of nothing.
        var lseView = backend.View<T>(logSumExp, Op);
        ArrayView<T> ViewOf(Tensor t) => t.Count == 0 ? lseView : backend.View<T>(t, Op);
        kernel.On(backend)(Groups(g.BatchHeads, g.QueryLength), Shape<T>(g, mask), ViewOf(q), ViewOf(k), ViewOf(v),
            mask == null ? lseView : ViewOf(mask), ViewOf(output), lseView);
    }

    public static void Backward(IlgpuBackend backend, AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output,
        Tensor logSumExp, Tensor gradOutput, Tensor gradQ, Tensor gradK, Tensor gradV)
    {
        Check(backend, g, mask);
        if (g.BatchHeads == 0) return;
        // (logSumExp, delta) per query row: the one intermediate backward stores, 2 * BH * Lq elements.
        using var stats = Tensor.Empty([g.BatchHeads, Math.Max(g.QueryLength, 1), 2], q.DType, backend.Device);
        if (q.DType == DType.Float64)
            Backward(backend, StatisticsFloat64, KeyValueFloat64, QueryFloat64, g, q, k, v, mask, output, logSumExp, gradOutput, stats, gradQ, gradK, gradV);
        else
            Backward(backend, StatisticsFloat32, KeyValueFloat32, QueryFloat32, g, q, k, v, mask, output, logSumExp, gradOutput, stats, gradQ, gradK, gradV);
    }

    private static void Backward<T>(IlgpuBackend backend,
        IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int>> statistics,
        IlgpuKernel<Action<KernelConfig, AttentionShape<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
            ArrayView<T>, ArrayView<T>>> keyValue,
        IlgpuKernel<Action<KernelConfig, AttentionShape<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
            ArrayView<T>>> query,
        AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp, Tensor gradOutput, Tensor stats,
        Tensor gradQ, Tensor gradK, Tensor gradV)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int bh = g.BatchHeads, lq = g.QueryLength, lk = g.KeyLength;
        var statsView = backend.View<T>(stats, Op);
        // Empty operands are never read (no query tiles when Lq = 0, no key tiles when Lk = 0): the
        // stats buffer, which always has elements, stands in for their views, as for a missing mask.
        ArrayView<T> ViewOf(Tensor t) => t.Count == 0 ? statsView : backend.View<T>(t, Op);
        var qv = ViewOf(q);
        var kv = ViewOf(k);
        var vv = ViewOf(v);
        var gradOutputView = ViewOf(gradOutput);
        var maskView = mask == null ? statsView : ViewOf(mask);
        var shape = Shape<T>(g, mask);

        if (lq > 0)
            statistics.On(backend)(bh * lq, ViewOf(output), gradOutputView, ViewOf(logSumExp), statsView, g.ValueDim);
        // dK and dV per block of key rows (zeros when there are no queries); dQ per block of query
        // rows (zeros when there are no keys). Both read the same inputs and write their own gradients.
        if (lk > 0)
            keyValue.On(backend)(Groups(bh, lk), shape, qv, kv, vv, maskView, statsView, gradOutputView, ViewOf(gradK), ViewOf(gradV));
        if (lq > 0)
            query.On(backend)(Groups(bh, lq), shape, qv, kv, vv, maskView, statsView, gradOutputView, ViewOf(gradQ));
    }

    /// <summary>One group of <see cref="Attention.Rows"/> threads per block of rows of each (batch, head).</summary>
    private static KernelConfig Groups(int batchHeads, int rows) =>
        new(batchHeads * Attention.BlocksPerHead(rows), Attention.Rows);

    /// <summary>The kernels' description of the call: sizes, the scale rounded to T as the CPU rounds it, and the mask's strides.</summary>
    private static AttentionShape<T> Shape<T>(AttentionGeometry g, Tensor? mask) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T scale = T.CreateTruncating(g.Scale);
        if (mask == null) return new AttentionShape<T>(g.QueryLength, g.KeyLength, g.HeadDim, g.ValueDim, scale, g.Causal, 0, 0, 0, 0, 0);
        var s = mask.Layout.Strides;
        return new AttentionShape<T>(g.QueryLength, g.KeyLength, g.HeadDim, g.ValueDim, scale, g.Causal, mask.Layout.Shape[1], s[0], s[1], s[2], s[3]);
    }

    /// <summary>The CPU kernel's mask check, plus the head-dim limit of the kernels' private row arrays and their int indexing.</summary>
    private static void Check(IlgpuBackend backend, AttentionGeometry g, Tensor? mask)
    {
        int heads = mask?.Layout.Shape[1] ?? 1;
        if (heads < 1 || g.BatchHeads % heads != 0)
            throw new ArgumentException($"{Op}: mask head count {heads} does not divide BatchHeads {g.BatchHeads}.");
        if (g.HeadDim > Attention.MaxHeadDim || g.ValueDim > Attention.MaxHeadDim)
            throw new NotSupportedException(
                $"{Op}: head dim D={g.HeadDim}, Dv={g.ValueDim} exceeds the GPU kernel's limit of {Attention.MaxHeadDim} on {backend.Device}.");
        // Rows and groups are counted in int (the backward's (logSumExp, delta) pairs too); offsets are 64-bit.
        if (2L * g.BatchHeads * Math.Max(g.QueryLength, g.KeyLength) > int.MaxValue)
            throw new NotSupportedException($"{Op}: {g} has more rows than the GPU kernels count on {backend.Device}.");
    }
}
