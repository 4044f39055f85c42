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
/// Cross-entropy from logits and integer class labels, fused: log-softmax and the negative
/// log-likelihood are one tape entry, whose backward is simply (softmax(x) - target) scaled,
/// never a chain through log and exp. Supports ignore-index and label smoothing like
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
        /// </summary>
        public Tensor CrossEntropy(Tensor labels, Reduction reduction = Reduction.Mean, int ignoreIndex = -100, double labelSmoothing = 0)
        {
            const string op = "cross_entropy";
            OpChecks.Floating(op, logits);
            if (labels.DType.IsFloating())
                throw new ArgumentException($"{op}: labels must be int32 or int64 class indices, got {labels.DType.Name()}.");
            if (logits.Rank < 1 || !labels.Layout.Shape.SequenceEqual(logits.Layout.Shape[..^1]))
                throw new ArgumentException($"{op}: logits {Layout.Format(logits.Layout.Shape)} need labels of shape {Layout.Format(logits.Layout.Shape[..Math.Max(0, logits.Rank - 1)])}, got {Layout.Format(labels.Layout.Shape)}.");
            if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
                throw new ArgumentException($"{op}: label smoothing must be in [0, 1], got {labelSmoothing}.");
            int classes = logits.Layout.Shape[^1];

            Tensor loss, probabilities, target, weight;
            double denominator;
            using (Tape.NoGrad())
            using (var scope = new TensorScope())
            {
                using var flatLogits = logits.Reshape(-1, classes);
                using var flatLabels = labels.Reshape(-1).To(DType.Int64);
                // weight: 1 for labels that count, 0 for ignored ones; ignored labels read class 0.
                weight = scope.Keep(flatLabels.Ne(flatLabels.ScalarLike(ignoreIndex)).To(logits.DType));
                using var safeLabels = flatLabels.MaskedFill(flatLabels.Eq(ignoreIndex), 0);
                using var oneHot = safeLabels.OneHot(classes, logits.DType);
                target = scope.Keep(oneHot * (1 - labelSmoothing) + labelSmoothing / classes);
                using var logProbabilities = flatLogits.LogSoftmax(-1);
                probabilities = scope.Keep(logProbabilities.Exp());
                using var perExample = -(logProbabilities * target).Sum(1) * weight;
                denominator = reduction == Reduction.Mean ? Math.Max(weight.Sum().Item(), 0) : 1;
                loss = scope.Keep(reduction switch
                {
                    Reduction.None => perExample.Reshape(labels.Layout.Shape),
                    Reduction.Sum => perExample.Sum(),
                    _ => perExample.Sum() / denominator,   // 0/0 = NaN when every label is ignored, like PyTorch
                });
            }
            var logitShape = logits.Layout.Shape;
            var result = Tape.Record(op, loss, [logits], (g, s) =>
            {
                // d loss / d logits = (softmax - target) * weight * upstream / denominator
                using var upstream = reduction == Reduction.None ? g.Reshape(-1, 1) : g.Reshape(1, 1);
                using var diff = s[0] - s[1];
                using var scaled = diff * s[2].Unsqueeze(1) * upstream / denominator;
                return [scaled.Reshape(logitShape)];
            }, probabilities, target, weight);
            // The tape holds its own handles on what backward needs.
            probabilities.Dispose();
            target.Dispose();
            weight.Dispose();
            return result;
        }
    }
}
