using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// Scaled dot-product attention, softmax(scale Q Kᵀ + mask) V, on the flash-style kernel: the
/// score matrix is never stored. Forward saves the output and each row's log-sum-exp; backward
/// recomputes the probabilities tile by tile from them.
/// </summary>
public static class AttentionOp
{
    /// <summary>
    /// q [..., Lq, D], k [..., Lk, D], v [..., Lk, Dv] with equal leading (batch, head) dims.
    /// <paramref name="mask"/> is additive (use -inf to hide a key) and broadcasts to [..., Lq, Lk];
    /// it receives no gradient. <paramref name="causal"/> lets query i see keys j &lt;= i.
    /// <paramref name="scale"/> defaults to 1/sqrt(D).
    /// </summary>
    public static Tensor ScaledDotProductAttention(Tensor q, Tensor k, Tensor v, Tensor? mask = null, bool causal = false, double? scale = null)
    {
        const string op = AttentionGeometry.OpName;
        foreach (var t in new[] { k, v })
        {
            OpChecks.SameDevice(op, q, t);
            OpChecks.SameDType(op, q, t);
        }
        OpChecks.Floating(op, q);
        if (q.Rank < 2 || k.Rank != q.Rank || v.Rank != q.Rank)
            throw new ArgumentException($"{op}: q, k, v must have the same rank (at least 2), got {Layout.Format(q.Layout.Shape)}, {Layout.Format(k.Layout.Shape)}, {Layout.Format(v.Layout.Shape)}.");
        var lead = q.Layout.Shape[..^2];
        int lq = q.Layout.Shape[^2], d = q.Layout.Shape[^1], lk = k.Layout.Shape[^2], dv = v.Layout.Shape[^1];
        if (!k.Layout.Shape[..^2].SequenceEqual(lead) || !v.Layout.Shape[..^2].SequenceEqual(lead) || k.Layout.Shape[^1] != d || v.Layout.Shape[^2] != lk)
            throw new ArgumentException($"{op}: expected q [..., Lq, D], k [..., Lk, D], v [..., Lk, Dv] with equal leading dims, got {Layout.Format(q.Layout.Shape)}, {Layout.Format(k.Layout.Shape)}, {Layout.Format(v.Layout.Shape)}.");
        if (mask != null) { OpChecks.SameDevice(op, q, mask); OpChecks.SameDType(op, q, mask); }
        int bh = lead.Aggregate(1, (a, b) => a * b);
        var g = new AttentionGeometry(bh, lq, lk, d, dv, scale ?? 1 / Math.Sqrt(d), causal);
        g.Validate();

        using var qc = q.Contiguous();
        using var kc = k.Contiguous();
        using var vc = v.Contiguous();
        using var maskView = mask == null ? null : MaskView(op, mask, lead, lq, lk);
        var output = Tensor.Empty(lead.Append(lq).Append(dv).ToArray(), q.DType, q.Device);
        using var lse = Tensor.Empty(lead.Append(lq).ToArray(), q.DType, q.Device);
        q.Backend(op).Attention(g, qc, kc, vc, maskView, output, lse);
        Tensor[] saved = maskView == null ? [qc, kc, vc, output, lse] : [qc, kc, vc, output, lse, maskView];
        return Tape.Record("attention", output, [q, k, v], (grad, s) =>
        {
            using var gy = grad.Contiguous();
            var gq = Tensor.Empty(s[0].Layout.Shape.ToArray(), gy.DType, gy.Device);
            var gk = Tensor.Empty(s[1].Layout.Shape.ToArray(), gy.DType, gy.Device);
            var gv = Tensor.Empty(s[2].Layout.Shape.ToArray(), gy.DType, gy.Device);
            gy.Backend(op).AttentionBackward(g, s[0], s[1], s[2], s.Length > 5 ? s[5] : null, s[3], s[4], gy, gq, gk, gv);
            return [gq, gk, gv];
        }, saved);
    }

    /// <summary>The mask broadcast to [..., Lq, Lk] and seen as [B, H, Lq, Lk] (copied only for more than two leading dims).</summary>
    private static Tensor MaskView(string op, Tensor mask, int[] lead, int lq, int lk)
    {
        var full = lead.Append(lq).Append(lk).ToArray();
        if (mask.Rank > full.Length || Enumerable.Range(0, mask.Rank).Any(i => mask.Layout.Shape[i] != 1 && mask.Layout.Shape[i] != full[i + full.Length - mask.Rank]))
            throw new ArgumentException($"{op}: mask shape {Layout.Format(mask.Layout.Shape)} does not broadcast to {Layout.Format(full)}.");
        using var expanded = mask.View(mask.Layout.Expand(full), op);
        if (lead.Length <= 2)
        {
            var four = new[] { 1, 1 }.Take(2 - lead.Length).Concat(full).ToArray();
            return expanded.View(expanded.Layout.TryReshape(four) ?? throw new InvalidOperationException($"{op}: internal error viewing the mask."), op);
        }
        using var copy = expanded.ContiguousCopy(op);
        return copy.View(Layout.Contiguous([1, lead.Aggregate(1, (a, b) => a * b), lq, lk]), op);
    }
}
