using Tensorium.Kernels.Ops;

namespace Tensorium.Optim;

/// <summary>
/// Adam (Kingma and Ba), as torch.optim.Adam: running means of the gradient (exp_avg) and of its
/// square (exp_avg_sq), bias-corrected, p -= lr / (1 - b1^t) · m / (sqrt(v) / sqrt(1 - b2^t) + eps).
/// Weight decay here is an L2 penalty added to the gradient; see <see cref="AdamW"/> for the
/// decoupled kind.
/// </summary>
public class Adam : Optimizer
{
    private readonly bool _decoupled;
    private double _beta1, _beta2, _eps, _weightDecay;

    /// <summary>Creates the optimizer (PyTorch defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay).</summary>
    public Adam(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0) : this(parameters, learningRate, beta1, beta2, eps, weightDecay, decoupled: false)
    {
    }

    /// <summary>For <see cref="AdamW"/>: <paramref name="decoupled"/> applies weight decay to the parameter, not the gradient.</summary>
    private protected Adam(IEnumerable<Tensor> parameters, double learningRate, double beta1, double beta2, double eps, double weightDecay, bool decoupled)
        : base(parameters, learningRate)
    {
        _decoupled = decoupled;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
    }

    /// <summary>Decay rate of the running mean of gradients, in [0, 1).</summary>
    public double Beta1 { get => _beta1; set => _beta1 = Beta(value, "beta1"); }

    /// <summary>Decay rate of the running mean of squared gradients, in [0, 1).</summary>
    public double Beta2 { get => _beta2; set => _beta2 = Beta(value, "beta2"); }

    /// <summary>Added to the denominator for numerical stability.</summary>
    public double Eps { get => _eps; set => _eps = NonNegative(value, "eps"); }

    /// <summary>Weight decay coefficient.</summary>
    public double WeightDecay { get => _weightDecay; set => _weightDecay = NonNegative(value, "weight decay"); }

    /// <inheritdoc />
    protected override IReadOnlyList<string> StateNames => ["exp_avg", "exp_avg_sq"];

    /// <inheritdoc />
    protected override FusedUpdate Plan(int index, long step) =>
        new(_decoupled ? OptimizerKind.AdamW : OptimizerKind.Adam,
            StateBuffer(index, "exp_avg", out _), StateBuffer(index, "exp_avg_sq", out _),
            new OptimizerHyper(LearningRate, WeightDecay, Beta1: Beta1, Beta2: Beta2, Eps: Eps, Step: step));

    /// <inheritdoc />
    protected override IEnumerable<(string Name, double Value)> HyperParameters() =>
        [.. base.HyperParameters(), ("beta1", Beta1), ("beta2", Beta2), ("eps", Eps), ("weight_decay", WeightDecay)];

    /// <inheritdoc />
    protected override bool SetHyperParameter(string name, double value)
    {
        switch (name)
        {
            case "beta1": Beta1 = value; return true;
            case "beta2": Beta2 = value; return true;
            case "eps": Eps = value; return true;
            case "weight_decay": WeightDecay = value; return true;
            default: return base.SetHyperParameter(name, value);
        }
    }

    private double Beta(double value, string what) =>
        value >= 0 && value < 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"{Name}: expected {what} in [0, 1), got {value}.");

    private double NonNegative(double value, string what) =>
        value >= 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(value), $"{Name}: expected a finite, non-negative {what}, got {value}.");
}
