namespace Tensorium;

/// <summary>How a per-example loss is reduced.</summary>
public enum Reduction
{
    /// <summary>Average over the examples that count (not ignored).</summary>
    Mean,
    /// <summary>Sum over examples.</summary>
    Sum,
    /// <summary>One loss per example.</summary>
    None,
}

/// <summary>
/// Cross-entropy from logits and integer class labels, fused into one backend op: one kernel
/// computes each row's log-softmax normaliser (log-sum-exp) and its loss, and backward recomputes
/// softmax(x) = exp(x - lse) from the saved logits and log-sum-exp to give (softmax(x) - target)
/// scaled: never a chain through log and exp, never a stored [rows, C] probability or target
/// tensor. Supports ignore-index and label smoothing like
/// torch.nn.functional.cross_entropy.
/// </summary>
public static class CrossEntropyOp
{
    extension(Tensor logits)
    {
        /// <summary>
        /// Loss of <paramref name="labels"/> (int32/int64, shape [...]) under logits [..., C].
        /// Labels equal to <paramref name="ignoreIndex"/> contribute nothing (and are not counted
        /// in the mean). With <paramref name="labelSmoothing"/> ε the target is (1-ε) one-hot + ε/C.
        /// Floating <paramref name="labels"/> of the logits' shape are class probabilities (see
        /// <see cref="WeightedCrossEntropy"/>, which also takes class weights).
        /// </summary>
        public Tensor CrossEntropy(Tensor labels, Reduction reduction = Reduction.Mean, int ignoreIndex = -100, double labelSmoothing = 0)
        {
            const string op = "cross_entropy";
            OpChecks.Floating(op, logits);
            // Floating targets are class probabilities, a composition (see WeightedCrossEntropy).
            if (labels.StorageFor(op).DType.IsFloating())
                return logits.CrossEntropy(labels, weight: null, reduction, ignoreIndex, labelSmoothing);
            if (logits.Rank < 1 || !labels.Layout.Shape.SequenceEqual(logits.Layout.Shape[..^1]))
                throw new ArgumentException($"{op}: logits {Layout.Format(logits.Layout.Shape)} need labels of shape {Layout.Format(logits.Layout.Shape[..Math.Max(0, logits.Rank - 1)])}, got {Layout.Format(labels.Layout.Shape)}.");
            if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
                throw new ArgumentException($"{op}: label smoothing must be in [0, 1], got {labelSmoothing}.");
            OpChecks.SameDevice(op, logits, labels);
            int classes = logits.Layout.Shape[^1], rows = labels.Count;

            Tensor loss, rowLogits, rowLabels, logSumExp;
            Tensor? counted = null;
            using (Tape.NoGrad())
            using (var scope = new TensorScope())   // frees everything made here if a bad label throws
            {
                // The kernels read contiguous [rows, C] logits and int64 [rows] labels: views when
                // the inputs already are, else one copy each.
                using var matrix = logits.Reshape(rows, classes);
                rowLogits = matrix.AsContiguous(op);
                using var flat = labels.Reshape(rows);
                rowLabels = flat.AsContiguous(op, DType.Int64);
                int keptLabels = OpChecks.LabelsInRange(op, rowLabels, classes, ignoreIndex);
                using var perRow = Tensor.Empty([rows], logits.DType, logits.Device);
                logSumExp = Tensor.Empty([rows], logits.DType, logits.Device);
                if (rows > 0)
                    logits.Backend(op).CrossEntropy(rowLogits, rowLabels, perRow, logSumExp, rows, classes, ignoreIndex, labelSmoothing);
                if (reduction == Reduction.Mean)
                {
                    // The mean is over the labels that count; the range check above counted them
                    // as it read every label, so one scalar holds the count backward divides by.
                    counted = scope.Keep(Tensor.Full([], keptLabels, logits.DType, logits.Device));
                    using var sum = perRow.Sum();
                    loss = sum / counted;   // 0/0 = NaN when every label is ignored, like PyTorch
                }
                else loss = reduction == Reduction.None ? perRow.Reshape(labels.Layout.Shape) : perRow.Sum();
                scope.Keep(loss);
                scope.Keep(rowLogits);
                scope.Keep(rowLabels);
                scope.Keep(logSumExp);
            }
            var logitShape = logits.Layout.Shape;
            Tensor[] saved = counted == null ? [rowLogits, logSumExp, rowLabels] : [rowLogits, logSumExp, rowLabels, counted];
            var result = Tape.Record(op, loss, [logits], (g, s) =>
            {
                // d loss / d logits[r] = scale[r] (softmax - target): the upstream gradient, per row
                // (None) or one value for every row (Sum, Mean over the counted labels).
                using var total = reduction == Reduction.Mean ? g / s[3] : null;
                var upstream = total ?? g;
                using var scale = reduction == Reduction.None ? upstream.Reshape(rows) : upstream.View(upstream.Layout.Expand([rows]), op);
                using var grad = Tensor.Empty([rows, classes], g.DType, g.Device);
                g.Backend(op).CrossEntropyBackward(s[0], s[1], s[2], scale, grad, rows, classes, ignoreIndex, labelSmoothing);
                return [grad.Reshape(logitShape)];
            }, saved);
            // The tape holds its own handles on what backward needs.
            foreach (var t in saved) t.Dispose();
            return result;
        }
    }
}
