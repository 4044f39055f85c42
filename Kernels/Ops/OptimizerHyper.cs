namespace Tensorium.Kernels.Ops;

/// <summary>Which fused parameter update an optimizer step runs.</summary>
public enum OptimizerKind
{
    /// <summary>Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 weight decay.</summary>
    Sgd,
    /// <summary>Adam with L2 weight decay added to the gradient (torch.optim.Adam).</summary>
    Adam,
    /// <summary>Adam with decoupled weight decay, p -= lr * wd * p (torch.optim.AdamW).</summary>
    AdamW,
    /// <summary>RMSprop (non-centered) with optional momentum and L2 weight decay (torch.optim.RMSprop).</summary>
    RmsProp,
}

/// <summary>
/// The hyper-parameters of one fused optimizer step, all as doubles: the kernel converts them to
/// the element type once. Fields an update does not use are ignored (Beta1 means nothing to SGD).
/// Which optional state a kind reads: SGD state1 = momentum buffer (only when Momentum != 0);
/// Adam/AdamW state1 = exp_avg, state2 = exp_avg_sq; RMSprop state1 = square_avg,
/// state2 = momentum buffer (only when Momentum != 0).
/// </summary>
/// <param name="LearningRate">Step size (lr).</param>
/// <param name="WeightDecay">L2 penalty added to the gradient (SGD, Adam, RMSprop) or decoupled decay factor (AdamW).</param>
/// <param name="Momentum">Momentum factor (SGD, RMSprop); 0 turns momentum off.</param>
/// <param name="Dampening">SGD dampening: the new gradient enters the momentum buffer scaled by (1 - dampening).</param>
/// <param name="Nesterov">SGD: use Nesterov momentum (g + momentum * buf instead of buf).</param>
/// <param name="Beta1">Adam: decay of the running mean of gradients.</param>
/// <param name="Beta2">Adam: decay of the running mean of squared gradients.</param>
/// <param name="Alpha">RMSprop: decay of the running mean of squared gradients.</param>
/// <param name="Eps">Added to the denominator (outside the square root, like PyTorch).</param>
/// <param name="Step">1-based count of updates this parameter has had, including this one (Adam's bias correction).</param>
public readonly record struct OptimizerHyper(
    double LearningRate,
    double WeightDecay = 0,
    double Momentum = 0,
    double Dampening = 0,
    bool Nesterov = false,
    double Beta1 = 0.9,
    double Beta2 = 0.999,
    double Alpha = 0.99,
    double Eps = 1e-8,
    long Step = 1);
