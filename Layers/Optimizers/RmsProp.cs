using Tensorium.Kernels.Ops;

namespace Tensorium.Optim;

/// <summary>
/// RMSprop (Hinton), as torch.optim.RMSprop with centered = false: a running mean of squared
/// gradients s = alpha s + (1 - alpha) g² scales each step, p -= lr g / (sqrt(s) + eps); with
/// momentum the scaled step goes through a buffer first (buf = momentum buf + step).
/// </summary>
public sealed class RmsProp : Optimizer
{
    private double _alpha, _eps, _weightDecay, _momentum;

    /// <summary>Creates the optimizer (PyTorch defaults: lr 1e-2, alpha 0.99, eps 1e-8, no weight decay, no momentum).</summary>
    public RmsProp(IEnumerable<Tensor> parameters, double learningRate = 1e-2, double alpha = 0.99, double eps = 1e-8,
        double weightDecay = 0, double momentum = 0) : base(parameters, learningRate)
    {
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

    /// <summary>L2 penalty coefficient added to the gradient.</summary>
    public double WeightDecay { get => _weightDecay; set => _weightDecay = NonNegative(value, "weight decay"); }

    /// <summary>Momentum factor; 0 turns momentum off.</summary>
    public double Momentum { get => _momentum; set => _momentum = NonNegative(value, "momentum"); }

    /// <inheritdoc />
    protected override IReadOnlyList<string> StateNames => ["square_avg", "momentum_buffer"];

    /// <inheritdoc />
    protected override FusedUpdate Plan(int index, long step)
    {
        var squareAvg = StateBuffer(index, "square_avg", out _);
        // PyTorch's momentum buffer starts at zeros (unlike SGD's), so no first-step special case.
        var buffer = Momentum != 0 ? StateBuffer(index, "momentum_buffer", out _) : null;
        return new(OptimizerKind.RmsProp, squareAvg, buffer, new OptimizerHyper(LearningRate, WeightDecay, Momentum, Alpha: Alpha, Eps: Eps, Step: step));
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

    private double NonNegative(double value, string what) =>
        value >= 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(value), $"{Name}: expected a finite, non-negative {what}, got {value}.");
}
