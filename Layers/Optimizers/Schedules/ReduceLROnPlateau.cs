namespace Tensorium.Optim;

/// <summary>Whether a monitored metric improves by going down (a loss) or up (an accuracy).</summary>
public enum PlateauMode
{
    /// <summary>Lower is better.</summary>
    Min,
    /// <summary>Higher is better.</summary>
    Max,
}

/// <summary>How <see cref="ReduceLROnPlateau"/> decides that a metric improved on the best so far.</summary>
public enum ThresholdMode
{
    /// <summary>By a fraction of the best value: best · (1 ∓ threshold).</summary>
    Relative,
    /// <summary>By a fixed amount: best ∓ threshold.</summary>
    Absolute,
}

/// <summary>
/// Cuts the learning rate when a monitored metric stops improving, as
/// torch.optim.lr_scheduler.ReduceLROnPlateau: after more than <see cref="Patience"/> steps
/// without an improvement, every rate (the optimizer's and each group's own) is multiplied by
/// <see cref="Factor"/>, never below <see cref="MinLearningRate"/>, and <see cref="Cooldown"/>
/// steps follow in which bad steps are not counted. Unlike the other schedules the rate depends
/// on the metric history, so there is no closed form: call <see cref="Step"/> with the metric
/// (e.g. the validation loss) once per epoch.
/// </summary>
public sealed class ReduceLROnPlateau
{
    private int _cooldownCounter;

    /// <summary>Drives <paramref name="optimizer"/> (PyTorch's defaults).</summary>
    public ReduceLROnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, double factor = 0.1, int patience = 10,
        double threshold = 1e-4, ThresholdMode thresholdMode = ThresholdMode.Relative, int cooldown = 0, double minLearningRate = 0, double eps = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!(factor >= 0 && factor < 1)) throw new ArgumentOutOfRangeException(nameof(factor), $"ReduceLROnPlateau: expected a factor in [0, 1), got {factor}.");
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), $"ReduceLROnPlateau: expected a non-negative patience, got {patience}.");
        if (cooldown < 0) throw new ArgumentOutOfRangeException(nameof(cooldown), $"ReduceLROnPlateau: expected a non-negative cooldown, got {cooldown}.");
        if (!(threshold >= 0 && double.IsFinite(threshold))) throw new ArgumentOutOfRangeException(nameof(threshold), $"ReduceLROnPlateau: expected a finite, non-negative threshold, got {threshold}.");
        if (!(minLearningRate >= 0 && double.IsFinite(minLearningRate))) throw new ArgumentOutOfRangeException(nameof(minLearningRate), $"ReduceLROnPlateau: expected a finite, non-negative minLearningRate, got {minLearningRate}.");
        if (!(eps >= 0 && double.IsFinite(eps))) throw new ArgumentOutOfRangeException(nameof(eps), $"ReduceLROnPlateau: expected a finite, non-negative eps, got {eps}.");
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), $"ReduceLROnPlateau: unknown mode {mode}.");
        if (!Enum.IsDefined(thresholdMode)) throw new ArgumentOutOfRangeException(nameof(thresholdMode), $"ReduceLROnPlateau: unknown threshold mode {thresholdMode}.");
        Optimizer = optimizer;
        Mode = mode;
        Factor = factor;
        Patience = patience;
        Threshold = threshold;
        ThresholdMode = thresholdMode;
        Cooldown = cooldown;
        MinLearningRate = minLearningRate;
        Eps = eps;
        Best = mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
    }

    /// <summary>The optimizer whose rates are cut.</summary>
    public Optimizer Optimizer { get; }
    /// <summary>Whether the metric should go down or up.</summary>
    public PlateauMode Mode { get; }
    /// <summary>Each cut multiplies the rates by this.</summary>
    public double Factor { get; }
    /// <summary>Steps without improvement tolerated before a cut.</summary>
    public int Patience { get; }
    /// <summary>How much better than the best a value must be to count as an improvement.</summary>
    public double Threshold { get; }
    /// <summary>Whether <see cref="Threshold"/> is relative or absolute.</summary>
    public ThresholdMode ThresholdMode { get; }
    /// <summary>Steps after a cut during which bad steps are not counted.</summary>
    public int Cooldown { get; }
    /// <summary>No rate is cut below this.</summary>
    public double MinLearningRate { get; }
    /// <summary>A cut smaller than this is skipped.</summary>
    public double Eps { get; }
    /// <summary>The best metric seen so far.</summary>
    public double Best { get; private set; }
    /// <summary>Steps since the last improvement (reset by a cut and during cooldown).</summary>
    public int BadSteps { get; private set; }
    /// <summary>How many times <see cref="Step"/> has been called.</summary>
    public int StepCount { get; private set; }

    /// <summary>Records one value of the metric; cuts the rates when it has not improved for too long. Returns whether it cut.</summary>
    public bool Step(double metric)
    {
        if (double.IsNaN(metric)) throw new ArgumentException($"ReduceLROnPlateau: the metric is NaN; expected a number (did the loss diverge?).", nameof(metric));
        StepCount++;
        if (IsBetter(metric))
        {
            Best = metric;
            BadSteps = 0;
        }
        else BadSteps++;
        if (_cooldownCounter > 0)
        {
            _cooldownCounter--;
            BadSteps = 0;
        }
        if (BadSteps <= Patience) return false;
        Reduce();
        _cooldownCounter = Cooldown;
        BadSteps = 0;
        return true;
    }

    private bool IsBetter(double value) => (Mode, ThresholdMode) switch
    {
        (PlateauMode.Min, ThresholdMode.Relative) => value < Best * (1 - Threshold),
        (PlateauMode.Min, ThresholdMode.Absolute) => value < Best - Threshold,
        (PlateauMode.Max, ThresholdMode.Relative) => value > Best * (1 + Threshold),
        _ => value > Best + Threshold,
    };

    private void Reduce()
    {
        Optimizer.LearningRate = Cut(Optimizer.LearningRate);
        foreach (var group in Optimizer.ParameterGroups)
            if (group.LearningRate is { } own) group.LearningRate = Cut(own);
    }

    private double Cut(double rate)
    {
        double next = Math.Max(rate * Factor, MinLearningRate);
        return rate - next > Eps ? next : rate;
    }
}
