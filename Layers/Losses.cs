namespace Tensorium.Layers;

/// <summary>
/// A loss as an object (like torch.nn.CrossEntropyLoss), for code that holds its loss with its
/// settings: <c>ILoss loss = new CrossEntropyLoss(labelSmoothing: 0.1); trainer = new Trainer(model, opt, loss.Compute)</c>.
/// Each class is a thin wrapper over the differentiable op of the same name.
/// </summary>
public interface ILoss
{
    /// <summary>The loss of <paramref name="prediction"/> against <paramref name="target"/>.</summary>
    Tensor Compute(Tensor prediction, Tensor target);
}

/// <summary>
/// Cross-entropy of logits [..., C] against integer labels [...] or class probabilities [..., C],
/// with optional class weights [C] (see <c>Tensor.CrossEntropy</c>). The weights are the
/// caller's: the loss neither copies nor disposes them.
/// </summary>
public sealed class CrossEntropyLoss(Reduction reduction = Reduction.Mean, int ignoreIndex = -100, double labelSmoothing = 0, Tensor? weight = null) : ILoss
{
    /// <inheritdoc />
    public Tensor Compute(Tensor prediction, Tensor target) => prediction.CrossEntropy(target, weight, reduction, ignoreIndex, labelSmoothing);
}

/// <summary>Negative log-likelihood of log-probabilities [..., C] against integer labels [...], with optional class weights [C] (see <c>Tensor.NllLoss</c>).</summary>
public sealed class NllLoss(Reduction reduction = Reduction.Mean, int ignoreIndex = -100, Tensor? weight = null) : ILoss
{
    /// <inheritdoc />
    public Tensor Compute(Tensor prediction, Tensor target) => prediction.NllLoss(target, reduction, ignoreIndex, weight);
}

/// <summary>Mean squared error (see <c>Tensor.MseLoss</c>).</summary>
public sealed class MseLoss(Reduction reduction = Reduction.Mean) : ILoss
{
    /// <inheritdoc />
    public Tensor Compute(Tensor prediction, Tensor target) => prediction.MseLoss(target, reduction);
}

/// <summary>Mean absolute error (see <c>Tensor.L1Loss</c>).</summary>
public sealed class L1Loss(Reduction reduction = Reduction.Mean) : ILoss
{
    /// <inheritdoc />
    public Tensor Compute(Tensor prediction, Tensor target) => prediction.L1Loss(target, reduction);
}

/// <summary>Binary cross-entropy on logits, with PyTorch's optional pos_weight (see <c>Tensor.BinaryCrossEntropyWithLogits</c>).</summary>
public sealed class BceWithLogitsLoss(Reduction reduction = Reduction.Mean, Tensor? posWeight = null) : ILoss
{
    /// <inheritdoc />
    public Tensor Compute(Tensor prediction, Tensor target) => prediction.BinaryCrossEntropyWithLogits(target, reduction, posWeight);
}
