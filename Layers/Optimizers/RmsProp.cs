using Tensorium.Kernels.Ops;

namespace Tensorium.Optim;

/// <summary>
/// RMSprop (Hinton), as torch.optim.RMSprop: a running mean of squared gradients
/// s = alpha s + (1 - alpha) g² scales each step, p -= lr g / (sqrt(s) + eps); with momentum the
/// scaled step goes through a buffer first (buf = momentum buf + step). <c>centered</c> also
/// keeps the running mean of the gradients, a = alpha a + (1 - alpha) g (state grad_avg), and
/// divides by an estimate of the variance instead, sqrt(s - a²) + eps; that rule is composed
/// from tensor ops, the plain one is a fused kernel.
/// </summary>
public sealed class RmsProp : Optimizer
{
    private readonly bool _centered;
    private double _alpha, _eps, _weightDecay, _momentum;

    /// <summary>Creates the optimizer (PyTorch defaults: lr 1e-2, alpha 0.99, eps 1e-8, no weight decay, no momentum).</summary>
    public RmsProp(IEnumerable<Tensor> parameters, double learningRate = 1e-2, double alpha = 0.99, double eps = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false) : base(parameters, learningRate)
    {
        _centered = centered;
        Alpha = alpha;
        Eps = eps;
        WeightDecay = weightDecay;
        Momentum = momentum;
    }

    /// <summary>Smoothing constant of the running mean of squared gradients, in [0, 1].</summary>
    public double Alpha
    {
        get => _alpha;
        set => _alpha = value >= 0 && value <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"{Name}: expected alpha in [0, 1], got {value}.");
    }

    /// <summary>Added to the denominator for numerical stability.</summary>
    public double Eps { get => _eps; set => _eps = NonNegative(value, "eps"); }

    /// <summary>Whether the centered variant is used (fixed at construction, like the state it keeps).</summary>
    public bool Centered => _centered;

    /// <summary>L2 penalty coefficient added to the gradient (groups may have their own).</summary>
    public double WeightDecay { get => _weightDecay; set => _weightDecay = NonNegative(value, "weight decay"); }

    /// <summary>Momentum factor; 0 turns momentum off.</summary>
    public double Momentum { get => _momentum; set => _momentum = NonNegative(value, "momentum"); }

    /// <inheritdoc />
    protected override IReadOnlyList<string> StateNames => _centered ? ["square_avg", "momentum_buffer", "grad_avg"] : ["square_avg", "momentum_buffer"];

    /// <inheritdoc />
    protected override ParameterUpdate Plan(int index, long step)
    {
        var squareAvg = StateBuffer(index, "square_avg", out _);
        // PyTorch's momentum buffer starts at zeros (unlike SGD's), so no first-step special case.
        var buffer = Momentum != 0 ? StateBuffer(index, "momentum_buffer", out _) : null;
        var hyper = new OptimizerHyper(LearningRateOf(index), WeightDecayOf(index, WeightDecay), Momentum, Alpha: Alpha, Eps: Eps, Step: step);
        if (!_centered) return new FusedUpdate(OptimizerKind.RmsProp, squareAvg, buffer, hyper);
        var gradAvg = StateBuffer(index, "grad_avg", out _);
        return new ComposedUpdate((p, g) => CenteredStep(p, g, squareAvg, gradAvg, buffer, hyper));
    }

    /// <summary>
    /// torch.optim.RMSprop(centered=True), single-tensor path: s and a updated, d = g / (sqrt(s - a²) + eps),
    /// then momentum as in the plain rule. Returns the new values; <see cref="Optimizer.Step"/>
    /// writes them once every parameter's are computed.
    /// </summary>
    private static IReadOnlyList<(Tensor Target, Tensor Value)> CenteredStep(Tensor p, Tensor g, Tensor squareAvg, Tensor gradAvg, Tensor? buffer, OptimizerHyper h)
    {
        using var scope = new TensorScope();
        var grad = h.WeightDecay != 0 ? g + p * h.WeightDecay : g;
        var nextSquare = squareAvg * h.Alpha + grad.Square() * (1 - h.Alpha);
        var nextGradAvg = gradAvg + (grad - gradAvg) * (1 - h.Alpha);   // torch: grad_avg.lerp_(grad, 1 - alpha)
        var denominator = (nextSquare - nextGradAvg.Square()).Sqrt() + h.Eps;
        var step = grad / denominator;
        var nextBuffer = buffer == null ? null : buffer * h.Momentum + step;
        var nextP = p - (nextBuffer ?? step) * h.LearningRate;
        var writes = new List<(Tensor Target, Tensor Value)> { (squareAvg, scope.Keep(nextSquare)), (gradAvg, scope.Keep(nextGradAvg)) };
        if (buffer != null) writes.Add((buffer, scope.Keep(nextBuffer!)));
        writes.Add((p, scope.Keep(nextP)));
        return writes;
    }

    /// <inheritdoc />
    protected override IEnumerable<(string Name, double Value)> HyperParameters() =>
        [.. base.HyperParameters(), ("alpha", Alpha), ("eps", Eps), ("weight_decay", WeightDecay), ("momentum", Momentum)];

    /// <inheritdoc />
    protected override bool SetHyperParameter(string name, double value)
    {
        switch (name)
        {
            case "alpha": Alpha = value; return true;
            case "eps": Eps = value; return true;
            case "weight_decay": WeightDecay = value; return true;
            case "momentum": Momentum = value; return true;
            default: return base.SetHyperParameter(name, value);
        }
    }
}
