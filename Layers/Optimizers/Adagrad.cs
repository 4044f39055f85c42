namespace Tensorium.Optim;

/// <summary>
/// Adagrad (Duchi et al.), as torch.optim.Adagrad: each element's step is divided by the root of
/// the sum of all its squared gradients so far (state "sum"),
/// g += wd p; sum += g²; p -= lr / (1 + (t - 1) lr_decay) · g / (sqrt(sum) + eps).
/// Composed from tensor ops (one state buffer, no fused kernel needed).
/// </summary>
public sealed class Adagrad : Optimizer
{
    private double _learningRateDecay, _weightDecay, _eps;

    /// <summary>Creates the optimizer (PyTorch defaults: lr 1e-2, no lr decay, no weight decay, sum starts at 0, eps 1e-10).</summary>
    public Adagrad(IEnumerable<Tensor> parameters, double learningRate = 1e-2, double learningRateDecay = 0, double weightDecay = 0,
        double initialAccumulatorValue = 0, double eps = 1e-10) : base(parameters, learningRate)
    {
        LearningRateDecay = learningRateDecay;
        WeightDecay = weightDecay;
        Eps = eps;
        InitialAccumulatorValue = NonNegative(initialAccumulatorValue, "initial accumulator value");
    }

    /// <summary>The step size at step t is lr / (1 + (t - 1) · this).</summary>
    public double LearningRateDecay { get => _learningRateDecay; set => _learningRateDecay = NonNegative(value, "learning rate decay"); }

    /// <summary>L2 penalty coefficient added to the gradient (groups may have their own).</summary>
    public double WeightDecay { get => _weightDecay; set => _weightDecay = NonNegative(value, "weight decay"); }

    /// <summary>Added to the denominator for numerical stability.</summary>
    public double Eps { get => _eps; set => _eps = NonNegative(value, "eps"); }

    /// <summary>The value every element of "sum" starts from.</summary>
    public double InitialAccumulatorValue { get; }

    /// <inheritdoc />
    protected override IReadOnlyList<string> StateNames => ["sum"];

    /// <inheritdoc />
    protected override ParameterUpdate Plan(int index, long step)
    {
        var sum = StateBuffer(index, "sum", out bool created);
        if (created && InitialAccumulatorValue != 0)
            using (var start = Tensor.Full(sum.Shape, InitialAccumulatorValue, sum.DType, sum.Device))
                sum.CopyFrom(start);
        double learningRate = LearningRateOf(index) / (1 + (step - 1) * LearningRateDecay);
        double weightDecay = WeightDecayOf(index, WeightDecay);
        double eps = Eps;
        return new ComposedUpdate((p, g) =>
        {
            using var scope = new TensorScope();
            var grad = weightDecay != 0 ? g + p * weightDecay : g;
            var nextSum = sum + grad.Square();
            var nextP = p - grad / (nextSum.Sqrt() + eps) * learningRate;
            return [(sum, scope.Keep(nextSum)), (p, scope.Keep(nextP))];
        });
    }

    /// <inheritdoc />
    protected override IEnumerable<(string Name, double Value)> HyperParameters() =>
        [.. base.HyperParameters(), ("lr_decay", LearningRateDecay), ("weight_decay", WeightDecay), ("eps", Eps)];

    /// <inheritdoc />
    protected override bool SetHyperParameter(string name, double value)
    {
        switch (name)
        {
            case "lr_decay": LearningRateDecay = value; return true;
            case "weight_decay": WeightDecay = value; return true;
            case "eps": Eps = value; return true;
            default: return base.SetHyperParameter(name, value);
        }
    }
}
