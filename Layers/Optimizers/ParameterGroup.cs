namespace Tensorium.Optim;

/// <summary>
/// Parameters that share hyper-parameters, like one entry of PyTorch's <c>param_groups</c>:
/// <c>var opt = new Adam(backbone.Parameters(), learningRate: 1e-4); opt.AddParameterGroup(new(head.Parameters(), learningRate: 1e-3));</c>.
/// A group's <see cref="LearningRate"/> or <see cref="WeightDecay"/> left null follows the
/// optimizer's; schedules scale each group's own rate from its starting value, as PyTorch does.
/// </summary>
public sealed class ParameterGroup
{
    private double? _learningRate, _weightDecay;

    /// <summary>A group of <paramref name="parameters"/> with optional own learning rate and weight decay.</summary>
    public ParameterGroup(IEnumerable<Tensor> parameters, double? learningRate = null, double? weightDecay = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters.ToArray();
        LearningRate = learningRate;
        WeightDecay = weightDecay;
    }

    /// <summary>The group's parameters, in order.</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>The group's own learning rate, or null to use the optimizer's.</summary>
    public double? LearningRate
    {
        get => _learningRate;
        set => _learningRate = value is not { } v || (v >= 0 && double.IsFinite(v))
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), $"ParameterGroup: expected a finite, non-negative learning rate or null, got {v}.");
    }

    /// <summary>The group's own weight decay, or null to use the optimizer's.</summary>
    public double? WeightDecay
    {
        get => _weightDecay;
        set => _weightDecay = value is not { } v || (v >= 0 && double.IsFinite(v))
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), $"ParameterGroup: expected a finite, non-negative weight decay or null, got {v}.");
    }
}
