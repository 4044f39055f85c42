using Tensorium.Kernels.Ops;

namespace Tensorium.Optim;

/// <summary>
/// Adam (Kingma and Ba), as torch.optim.Adam: running means of the gradient (exp_avg) and of its
/// square (exp_avg_sq), bias-corrected, p -= lr / (1 - b1^t) · m / (sqrt(v) / sqrt(1 - b2^t) + eps).
/// Weight decay here is an L2 penalty added to the gradient; see <see cref="AdamW"/> for the
/// decoupled kind. With <c>amsgrad</c> (Reddi et al., PyTorch's amsgrad=True) the denominator
/// uses the running maximum of exp_avg_sq (state max_exp_avg_sq), so the effective step never
/// grows; that rule is composed from tensor ops, the plain one is a fused kernel.
/// </summary>
public class Adam : Optimizer
{
    private readonly bool _decoupled, _amsgrad;
    private double _beta1, _beta2, _eps, _weightDecay;

    /// <summary>Creates the optimizer (PyTorch defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay).</summary>
    public Adam(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0, bool amsgrad = false)
        : this(parameters, learningRate, beta1, beta2, eps, weightDecay, amsgrad, decoupled: false)
    {
    }

    /// <summary>For <see cref="AdamW"/>: <paramref name="decoupled"/> applies weight decay to the parameter, not the gradient.</summary>
    private protected Adam(IEnumerable<Tensor> parameters, double learningRate, double beta1, double beta2, double eps, double weightDecay, bool amsgrad, bool decoupled)
        : base(parameters, learningRate)
    {
        _decoupled = decoupled;
        _amsgrad = amsgrad;
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

    /// <summary>Whether the AMSGrad variant is used (fixed at construction, like the state it keeps).</summary>
    public bool AmsGrad => _amsgrad;

    /// <summary>Weight decay coefficient (groups may have their own).</summary>
    public double WeightDecay { get => _weightDecay; set => _weightDecay = NonNegative(value, "weight decay"); }

    /// <inheritdoc />
    protected override IReadOnlyList<string> StateNames => _amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"];

    /// <inheritdoc />
    protected override ParameterUpdate Plan(int index, long step)
    {
        var hyper = new OptimizerHyper(LearningRateOf(index), WeightDecayOf(index, WeightDecay), Beta1: Beta1, Beta2: Beta2, Eps: Eps, Step: step);
        var m = StateBuffer(index, "exp_avg", out _);
        var v = StateBuffer(index, "exp_avg_sq", out _);
        if (!_amsgrad) return new FusedUpdate(_decoupled ? OptimizerKind.AdamW : OptimizerKind.Adam, m, v, hyper);
        var vMax = StateBuffer(index, "max_exp_avg_sq", out _);
        return new ComposedUpdate((p, g) => AmsGradStep(p, g, m, v, vMax, hyper));
    }

    /// <summary>
    /// torch.optim.Adam(amsgrad=True), single-tensor path: the Adam moments, then
    /// v_max = max(v_max, v) and p -= lr / (1 - b1^t) · m / (sqrt(v_max) / sqrt(1 - b2^t) + eps).
    /// Returns the new values; <see cref="Optimizer.Step"/> writes them once every parameter's are computed.
    /// </summary>
    private IReadOnlyList<(Tensor Target, Tensor Value)> AmsGradStep(Tensor p, Tensor g, Tensor m, Tensor v, Tensor vMax, OptimizerHyper h)
    {
        using var scope = new TensorScope();
        var grad = h.WeightDecay != 0 && !_decoupled ? g + p * h.WeightDecay : g;
        var start = h.WeightDecay != 0 && _decoupled ? p * (1 - h.LearningRate * h.WeightDecay) : p;
        var nextM = m + (grad - m) * (1 - h.Beta1);
        var nextV = v * h.Beta2 + grad.Square() * (1 - h.Beta2);
        var nextMax = vMax.Maximum(nextV);
        double stepSize = h.LearningRate / (1 - Math.Pow(h.Beta1, h.Step));
        double correction2Sqrt = Math.Sqrt(1 - Math.Pow(h.Beta2, h.Step));
        var denominator = nextMax.Sqrt() / correction2Sqrt + h.Eps;
        var nextP = start - nextM / denominator * stepSize;
        return [(m, scope.Keep(nextM)), (v, scope.Keep(nextV)), (vMax, scope.Keep(nextMax)), (p, scope.Keep(nextP))];
    }

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
}
