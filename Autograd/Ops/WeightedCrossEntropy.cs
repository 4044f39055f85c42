namespace Tensorium;

/// <summary>
/// The cross-entropy options beyond the fused op (<see cref="CrossEntropyOp"/>), as in
/// torch.nn.functional.cross_entropy: per-class weights and probability (soft) targets. Both are
/// compositions of LogSoftmax, NllLoss and elementwise ops, so their backward comes from those
/// ops; the common case (integer labels, no weights) keeps the fused kernel.
/// </summary>
public static class WeightedCrossEntropy
{
    extension(Tensor logits)
    {
        /// <summary>
        /// Cross-entropy of logits [..., C] against <paramref name="target"/>, which is either
        /// integer class labels [...] or class probabilities [..., C] (a floating tensor of the
        /// logits' shape, PyTorch's probability targets), with optional per-class
        /// <paramref name="weight"/> [C] (weights are not trained, as in PyTorch).
        /// <list type="bullet">
        /// <item>Labels: loss_i = -w[y_i] log p_i[y_i], blended with ε/C · Σ_c -w_c log p_i[c] by
        /// label smoothing ε; the mean divides by Σ_i w[y_i] over the labels that count.</item>
        /// <item>Probabilities: loss_i = -Σ_c w_c t'_ic log p_ic with t' = (1 - ε) t + ε / C; the mean
        /// divides by the number of rows; <paramref name="ignoreIndex"/> does not apply.</item>
        /// </list>
        /// </summary>
        public Tensor CrossEntropy(Tensor target, Tensor? weight, Reduction reduction = Reduction.Mean, int ignoreIndex = -100, double labelSmoothing = 0)
        {
            const string op = "cross_entropy";
            OpChecks.Floating(op, logits);
            bool probabilities = target.StorageFor(op).DType.IsFloating();
            if (!probabilities && weight == null) return logits.CrossEntropy(target, reduction, ignoreIndex, labelSmoothing);
            if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
                throw new ArgumentException($"{op}: label smoothing must be in [0, 1], got {labelSmoothing}.");
            if (logits.Rank < 1)
                throw new ArgumentException($"{op}: expected logits [..., C] of rank 1 or more, got a scalar.");
            int classes = logits.Layout.Shape[^1];
            if (weight != null) CheckClassWeight(op, logits, weight);
            if (probabilities) return SoftTargets(op, logits, target, weight, reduction, labelSmoothing);

            using var logProbabilities = logits.LogSoftmax(-1);
            var nll = logProbabilities.NllLoss(target, reduction, ignoreIndex, weight);
            if (labelSmoothing == 0) return nll;
            using (nll)
            {
                // PyTorch's smoothing term with weights: Σ_c -w_c log p_c per row, 0 where ignored,
                // and the mean divided by the same total weight as the NLL part.
                Tensor kept, total;
                using (Tape.NoGrad())
                using (var scope = new TensorScope())
                {
                    kept = scope.Keep(target.Ne(target.ScalarLike(ignoreIndex)).To(logits.DType));
                    var safe = target.To(DType.Int64).MaskedFill(target.Eq(ignoreIndex), 0);
                    var picked = weight!.IndexSelect(0, safe.Reshape(-1)).Reshape(target.Layout.Shape);
                    total = scope.Keep((picked * kept).Sum());
                }
                using (kept)
                using (total)
                {
                    using var constantWeight = weight!.Detach();   // class weights are not trained, as in the NLL part
                    using var weighted = logProbabilities * constantWeight;
                    using var rowSum = weighted.Sum(-1);
                    using var negated = rowSum.Neg();
                    using var smooth = negated * kept;
                    using var smoothPart = Reduce(smooth, reduction, total, labelSmoothing / classes);
                    using var nllPart = nll * (1 - labelSmoothing);
                    return nllPart + smoothPart;
                }
            }
        }
    }

    /// <summary>-Σ_c w_c t'_c log p_c per row, with t' the smoothed probabilities, reduced.</summary>
    private static Tensor SoftTargets(string op, Tensor logits, Tensor target, Tensor? weight, Reduction reduction, double labelSmoothing)
    {
        OpChecks.SameDevice(op, logits, target);
        OpChecks.SameDType(op, logits, target);
        if (!target.Layout.Shape.SequenceEqual(logits.Layout.Shape))
            throw new ArgumentException($"{op}: probability targets must have the logits' shape {Layout.Format(logits.Layout.Shape)}, got {Layout.Format(target.Layout.Shape)}; integer labels have shape {Layout.Format(logits.Layout.Shape[..^1])}.");
        int classes = logits.Layout.Shape[^1];
        using var logProbabilities = logits.LogSoftmax(-1);
        using var kept = target * (1 - labelSmoothing);
        using var smoothed = kept + labelSmoothing / classes;
        using var product = logProbabilities * smoothed;
        using var weighted = weight == null ? null : product * weight;
        using var rowSum = (weighted ?? product).Sum(-1);
        using var negated = rowSum.Neg();
        return Reduce(negated, reduction, total: null, 1.0);   // the mean is over rows (logits.Count / C), as PyTorch
    }

    /// <summary>factor · the per-example loss, summed, or summed and divided by <paramref name="total"/> (the row count when null).</summary>
    private static Tensor Reduce(Tensor perExample, Reduction reduction, Tensor? total, double factor)
    {
        if (reduction == Reduction.None) return perExample * factor;
        using var sum = perExample.Sum();
        if (reduction == Reduction.Sum) return sum * factor;
        using var mean = total == null ? sum / perExample.Count : sum / total;
        return mean * factor;
    }

    /// <summary>[C] floating weights on the logits' device and dtype.</summary>
    internal static void CheckClassWeight(string op, Tensor input, Tensor weight)
    {
        int classes = input.Layout.Shape[^1];
        if (weight.Rank != 1 || weight.Layout.Shape[0] != classes)
            throw new ArgumentException($"{op}: class weights must have shape [{classes}] (one per class), got {Layout.Format(weight.Layout.Shape)}.");
        OpChecks.SameDevice(op, input, weight);
        OpChecks.SameDType(op, input, weight);
    }
}
