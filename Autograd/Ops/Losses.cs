namespace Tensorium;

/// <summary>
/// The common losses besides cross-entropy (see <see cref="CrossEntropyOp"/>), with PyTorch's
/// names and reductions. NLL, MSE and L1 are compositions of differentiable ops, so their
/// backward comes from the ops they are made of. Binary cross-entropy with logits is one fused
/// tape entry: its textbook gradient sigmoid(x) - t is exact everywhere, while the chain through
/// the stable formula's max and |x| would give the wrong slope at x = 0.
/// </summary>
public static class Losses
{
    extension(Tensor input)
    {
        /// <summary>
        /// Negative log-likelihood of integer <paramref name="labels"/> (shape [...]) under
        /// log-probabilities [..., C] (e.g. from LogSoftmax(-1)): -input[..., label]. Classes are the
        /// last dimension, as in <c>CrossEntropy</c>, so NllLoss(LogSoftmax(x)) equals CrossEntropy(x)
        /// (PyTorch puts classes in dimension 1; for [N, C] inputs the two agree). Labels equal to
        /// <paramref name="ignoreIndex"/> contribute 0 and are left out of the mean. With class
        /// weights <paramref name="weight"/> [C] (not trained, as in PyTorch) each example's loss
        /// is scaled by its label's weight and the mean divides by the sum of those weights.
        /// </summary>
        public Tensor NllLoss(Tensor labels, Reduction reduction = Reduction.Mean, int ignoreIndex = -100, Tensor? weight = null)
        {
            const string op = "nll_loss";
            OpChecks.Floating(op, input);
            if (labels.StorageFor(op).DType.IsFloating())
                throw new ArgumentException($"{op}: labels must be int32 or int64 class indices, got {labels.DType.Name()}.");
            if (input.Rank < 1 || !labels.Layout.Shape.SequenceEqual(input.Layout.Shape[..^1]))
                throw new ArgumentException($"{op}: log-probabilities {Layout.Format(input.Layout.Shape)} need labels of shape {Layout.Format(input.Layout.Shape[..Math.Max(0, input.Rank - 1)])}, got {Layout.Format(labels.Layout.Shape)}.");
            int classes = input.Layout.Shape[^1];
            if (weight != null) WeightedCrossEntropy.CheckClassWeight(op, input, weight);

            Tensor index, exampleWeight;
            double counted;
            using (Tape.NoGrad())
            using (var scope = new TensorScope())
            {
                using var flatLabels = labels.Reshape(-1).To(DType.Int64);
                using var ignored = flatLabels.Eq(ignoreIndex);
                // exampleWeight: the label's class weight (1 without weights) for labels that count,
                // 0 for ignored ones (which then read class 0).
                using var keptLabels = flatLabels.Ne(flatLabels.ScalarLike(ignoreIndex));
                var kept = keptLabels.To(input.DType);
                using var safe = flatLabels.MaskedFill(ignored, 0);
                CheckClassRange(op, safe, classes, ignoreIndex);
                exampleWeight = scope.Keep(weight == null ? kept : kept * weight.Detach().IndexSelect(0, safe));
                index = scope.Keep(safe.Reshape(-1, 1));
                counted = reduction == Reduction.Mean ? exampleWeight.Sum().Item() : 1;
            }
            using (index)
            using (exampleWeight)
            {
                using var flat = input.Reshape(-1, classes);
                using var picked = flat.Gather(1, index);
                using var pickedFlat = picked.Reshape(-1);
                using var negated = pickedFlat.Neg();
                using var perExample = negated * exampleWeight;
                return reduction switch
                {
                    Reduction.None => perExample.Reshape(labels.Layout.Shape),
                    Reduction.Sum => perExample.Sum(),
                    _ => SumOver(perExample, counted),   // 0/0 = NaN when every label is ignored, like PyTorch
                };
            }
        }

        /// <summary>Mean squared error (x - target)², reduced; shapes must match.</summary>
        public Tensor MseLoss(Tensor target, Reduction reduction = Reduction.Mean)
        {
            CheckPair("mse_loss", input, target);
            using var difference = input - target;
            return Reduce(difference.Square(), reduction);
        }

        /// <summary>Mean absolute error |x - target|, reduced; shapes must match. The gradient at x = target is 0, like PyTorch.</summary>
        public Tensor L1Loss(Tensor target, Reduction reduction = Reduction.Mean)
        {
            CheckPair("l1_loss", input, target);
            using var difference = input - target;
            return Reduce(difference.Abs(), reduction);
        }

        /// <summary>
        /// Binary cross-entropy of probabilities sigmoid(x) against targets in [0, 1], computed
        /// from the logits x without ever forming sigmoid(x):
        /// max(x, 0) - x t + log(1 + exp(-|x|)), which neither overflows nor takes log(0).
        /// With <paramref name="posWeight"/> p (PyTorch's pos_weight, e.g. one per class [C],
        /// broadcast against the input) the positive term is weighted:
        /// (1 - t) x + (1 + (p - 1) t) softplus(-x).
        /// Gradients: d/dx = (1 + (p - 1) t) sigmoid(x) - p t (sigmoid(x) - t without p),
        /// d/dt = -x + (p - 1) softplus(-x), d/dp = t softplus(-x): targets and pos_weight may
        /// require gradients, as in PyTorch.
        /// </summary>
        public Tensor BinaryCrossEntropyWithLogits(Tensor target, Reduction reduction = Reduction.Mean, Tensor? posWeight = null)
        {
            const string op = "binary_cross_entropy_with_logits";
            CheckPair(op, input, target);
            if (posWeight != null) CheckPositiveWeight(op, input, posWeight);
            Tensor loss;
            using (Tape.NoGrad())
            using (var scope = new TensorScope())
            {
                var negativeAbs = -input.Abs();
                var logTerm = (negativeAbs.Exp() + 1.0).Log();       // log(1 + exp(-|x|)) in (0, log 2]
                Tensor perElement;
                if (posWeight == null)
                    perElement = input.Relu() - input * target + logTerm;
                else
                {
                    var softplusOfNegative = (-input).Relu() + logTerm;   // log(1 + exp(-x)), stable
                    var positiveScale = (posWeight - 1.0) * target + 1.0;
                    perElement = (1.0 - target) * input + positiveScale * softplusOfNegative;
                }
                loss = scope.Keep(Reduce(perElement, reduction));
            }
            double scale = reduction == Reduction.Mean ? 1.0 / input.Count : 1.0;
            bool inputGrad = input.RequiresGrad, targetGrad = target.RequiresGrad, weightGrad = posWeight?.RequiresGrad == true;
            if (posWeight == null)
                return Tape.Record(op, loss, [input, target], (g, s) =>
                {
                    // g is a scalar for Mean/Sum (it broadcasts) and per element for None.
                    using var upstream = g * scale;
                    Tensor? dx = null, dt = null;
                    if (inputGrad)
                    {
                        using var probability = s[0].Sigmoid();
                        using var residual = probability - s[1];
                        dx = residual * upstream;
                    }
                    if (targetGrad)
                    {
                        using var negated = s[0].Neg();
                        dt = negated * upstream;
                    }
                    return [dx, dt];
                }, input, target);
            return Tape.Record(op, loss, [input, target, posWeight], (g, s) =>
            {
                using var scope = new TensorScope();
                var (x, t, p) = (s[0], s[1], s[2]);
                var upstream = g * scale;
                var softplusOfNegative = (-x).Relu() + ((-x.Abs()).Exp() + 1.0).Log();
                Tensor? dx = null, dt = null, dp = null;
                if (inputGrad) dx = scope.Keep((((p - 1.0) * t + 1.0) * x.Sigmoid() - p * t) * upstream);
                if (targetGrad) dt = scope.Keep(((p - 1.0) * softplusOfNegative - x) * upstream);
                if (weightGrad) dp = scope.Keep((t * softplusOfNegative * upstream).SumTo(p.Layout.Shape));
                return [dx, dt, dp];
            }, input, target, posWeight);
        }
    }

    /// <summary>pos_weight: floating, on the input's device and dtype, broadcasting against the input without growing it.</summary>
    private static void CheckPositiveWeight(string op, Tensor input, Tensor posWeight)
    {
        OpChecks.SameDevice(op, input, posWeight);
        OpChecks.SameDType(op, input, posWeight);
        var shape = input.Layout.Shape;
        var weightShape = posWeight.Layout.Shape;
        bool broadcasts = weightShape.Length <= shape.Length
            && weightShape.Select((d, i) => d == 1 || d == shape[shape.Length - weightShape.Length + i]).All(ok => ok);
        if (!broadcasts)
            throw new ArgumentException($"{op}: pos_weight {Layout.Format(weightShape)} must broadcast to the input {Layout.Format(shape)} (e.g. one weight per class, [{(shape.Length > 0 ? shape[^1] : 1)}]).");
    }

    /// <summary>Sum divided by a count known on the host.</summary>
    private static Tensor SumOver(Tensor perExample, double count)
    {
        using var sum = perExample.Sum();
        return sum / count;
    }

    /// <summary>Applies a reduction to a per-element loss, taking ownership of it.</summary>
    private static Tensor Reduce(Tensor perElement, Reduction reduction)
    {
        if (reduction == Reduction.None) return perElement;
        using (perElement)
            return reduction == Reduction.Sum ? perElement.Sum() : perElement.Mean();
    }

    /// <summary>Same shape, dtype and device, floating point.</summary>
    private static void CheckPair(string op, Tensor input, Tensor target)
    {
        OpChecks.Floating(op, input);
        OpChecks.SameDevice(op, input, target);
        OpChecks.SameDType(op, input, target);
        // PyTorch only warns here and then broadcasts, which silently turns [N, 1] vs [N] into an
        // [N, N] loss; an error is kinder.
        if (!input.Layout.Shape.SequenceEqual(target.Layout.Shape))
            throw new ArgumentException($"{op}: input shape {Layout.Format(input.Layout.Shape)} and target shape {Layout.Format(target.Layout.Shape)} differ; expected equal shapes.");
    }

    /// <summary>Every (non-ignored) label must name a class in [0, classes).</summary>
    private static void CheckClassRange(string op, Tensor labels, int classes, int ignoreIndex)
    {
        if (labels.Count == 0) return;
        using var lowest = labels.Min();
        using var highest = labels.Max();
        double low = lowest.Item(), high = highest.Item();
        if (low < 0 || high >= classes)
            throw new ArgumentException($"{op}: label {(low < 0 ? low : high)} is out of range for {classes} classes; expected labels in [0, {classes - 1}] or the ignore index {ignoreIndex}.");
    }
}
