namespace Tensorium.Optim;

/// <summary>
/// A learning rate as a function of the step (or epoch) count, like torch.optim.lr_scheduler.
/// <see cref="LearningRateAt"/> is the pure function (closed form, easy to test and to plot);
/// a schedule built on an optimizer also drives it: the constructor sets the optimizer to the
/// step-0 rate and every <see cref="Step"/> advances the count and sets the next rate. Parameter
/// groups with their own learning rate follow the same curve from their own starting rate (as
/// PyTorch's schedulers scale each group's initial_lr).
/// <code>
/// var schedule = new CosineAnnealing(optimizer, tMax: epochs);
/// for (...) { train one epoch; schedule.Step(); }
/// </code>
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>Drives <paramref name="optimizer"/>, starting from its current learning rate.</summary>
    protected LearningRateSchedule(Optimizer optimizer)
        : this((optimizer ?? throw new ArgumentNullException(nameof(optimizer))).LearningRate)
    {
        Optimizer = optimizer;
        _groupBases = optimizer.ParameterGroups.Select(g => g.LearningRate).ToArray();
    }

    private readonly double?[] _groupBases = [];

    /// <summary>A schedule that only computes rates (for composing schedules, or setting the rate yourself).</summary>
    protected LearningRateSchedule(double baseLearningRate)
    {
        if (!(baseLearningRate >= 0 && double.IsFinite(baseLearningRate)))
            throw new ArgumentOutOfRangeException(nameof(baseLearningRate), $"{GetType().Name}: expected a finite, non-negative base learning rate, got {baseLearningRate}.");
        BaseLearningRate = baseLearningRate;
    }

    /// <summary>The rate the schedule scales (the optimizer's learning rate when the schedule was made).</summary>
    public double BaseLearningRate { get; }

    /// <summary>The optimizer this schedule sets, or null.</summary>
    public Optimizer? Optimizer { get; }

    /// <summary>How many times <see cref="Step"/> has been called.</summary>
    public int StepCount { get; private set; }

    /// <summary>The rate after <see cref="StepCount"/> steps.</summary>
    public double CurrentLearningRate => LearningRateAt(StepCount);

    /// <summary>The learning rate after <paramref name="step"/> calls of <see cref="Step"/> (0: the start).</summary>
    public double LearningRateAt(int step) => LearningRateFromBase(step, BaseLearningRate);

    /// <summary>The rate after <paramref name="step"/> steps for a parameter group that started at <paramref name="baseLearningRate"/>.</summary>
    public double LearningRateFromBase(int step, double baseLearningRate)
    {
        CheckStep(step);
        return RateAt(step, baseLearningRate);
    }

    /// <summary>The schedule's formula: the rate after <paramref name="step"/> (non-negative) steps from <paramref name="baseLearningRate"/>.</summary>
    protected abstract double RateAt(int step, double baseLearningRate);

    /// <summary>Advances one step and sets the optimizer (if any) to the new rate, which it returns.</summary>
    public double Step()
    {
        // The rate is computed before the count moves: a step the schedule refuses (OneCycleLR
        // past its cycle) leaves the count, and so the current rate, as they were.
        LearningRateAt(checked(StepCount + 1));
        StepCount++;
        Apply();
        return CurrentLearningRate;
    }

    /// <summary>
    /// Sets the optimizer (if any) to the current rate. Constructors of derived schedules call it
    /// last, once their own fields are set, so training starts at <c>LearningRateAt(0)</c> as in PyTorch.
    /// </summary>
    protected void Apply()
    {
        if (Optimizer == null) return;
        Optimizer.LearningRate = CurrentLearningRate;
        for (int k = 0; k < _groupBases.Length; k++)
            if (_groupBases[k] is { } groupBase) Optimizer.ParameterGroups[k].LearningRate = LearningRateFromBase(StepCount, groupBase);
    }

    /// <summary>Throws unless <paramref name="step"/> is non-negative.</summary>
    protected void CheckStep(int step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), $"{GetType().Name}: expected a non-negative step, got {step}.");
    }
}
