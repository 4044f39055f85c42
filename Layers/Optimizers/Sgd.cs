using Tensorium.Kernels.Ops;

namespace Tensorium.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2
/// weight decay, exactly as torch.optim.SGD:
/// g = grad + wd p; buf = momentum buf + (1 - dampening) g (buf = g on the first step);
/// g = nesterov ? g + momentum buf : buf; p -= lr g.
/// </summary>
public sealed class Sgd : Optimizer
{
    private double _momentum, _dampening, _weightDecay;
    private bool _nesterov;

    /// <summary>Creates the optimizer (PyTorch defaults: lr 1e-3, no momentum, no weight decay).</summary>
    public Sgd(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false) : base(parameters, learningRate)
    {
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
    }

    /// <summary>Momentum factor; 0 is plain SGD.</summary>
    public double Momentum { get => _momentum; set { _momentum = NonNegative(value, "momentum"); CheckNesterov(); } }

    /// <summary>Dampening of the gradient entering the momentum buffer.</summary>
    public double Dampening { get => _dampening; set { _dampening = NonNegative(value, "dampening"); CheckNesterov(); } }

    /// <summary>L2 penalty coefficient added to the gradient.</summary>
    public double WeightDecay { get => _weightDecay; set => _weightDecay = NonNegative(value, "weight decay"); }

    /// <summary>Nesterov momentum (needs momentum &gt; 0 and dampening 0, like PyTorch).</summary>
    public bool Nesterov { get => _nesterov; set { _nesterov = value; CheckNesterov(); } }

    /// <inheritdoc />
    protected override IReadOnlyList<string> StateNames => ["momentum_buffer"];

    /// <inheritdoc />
    protected override FusedUpdate Plan(int index, long step)
    {
        Tensor? buffer = null;
        bool fresh = false;
        if (Momentum != 0) buffer = StateBuffer(index, "momentum_buffer", out fresh);
        // A fresh buffer is zeros; with dampening 0 the kernel's momentum * 0 + 1 * g makes it
        // exactly a copy of g, which is how PyTorch starts it.
        return new(OptimizerKind.Sgd, buffer, null, new OptimizerHyper(LearningRateOf(index), WeightDecayOf(index, WeightDecay), Momentum, fresh ? 0 : Dampening, Nesterov));
    }

    /// <inheritdoc />
    protected override IEnumerable<(string Name, double Value)> HyperParameters() =>
        [.. base.HyperParameters(), ("momentum", Momentum), ("dampening", Dampening), ("weight_decay", WeightDecay), ("nesterov", Nesterov ? 1 : 0)];

    /// <inheritdoc />
    protected override bool SetHyperParameter(string name, double value)
    {
        switch (name)
        {
            // Nesterov is checked against momentum and dampening, so clear it while they change.
            case "momentum": _nesterov = false; Momentum = value; return true;
            case "dampening": _nesterov = false; Dampening = value; return true;
            case "weight_decay": WeightDecay = value; return true;
            case "nesterov": Nesterov = value != 0; return true;
            default: return base.SetHyperParameter(name, value);
        }
    }

    private void CheckNesterov()
    {
        if (_nesterov && (_momentum <= 0 || _dampening != 0))
            throw new ArgumentException($"{Name}: Nesterov momentum needs momentum > 0 and dampening 0, got momentum {_momentum}, dampening {_dampening}.");
    }
}
