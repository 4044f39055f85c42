namespace Tensorium.Optim;

/// <summary>
/// A learning rate as a function of the step (or epoch) count, like torch.optim.lr_scheduler.
/// <see cref="LearningRateAt"/> is the pure function (closed form, easy to test and to plot);
/// a schedule built on an optimizer also drives it: the constructor sets the optimizer to the
/// step-0 rate and every <see cref="Step"/> advances the count and sets the next rate.
/// <code>
/// var schedule = new CosineAnnealing(optimizer, tMax: epochs);
/// for (...) { train one epoch; schedule.Step(); }
/// </code>
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>Drives <paramref name="optimizer"/>, starting from its current learning rate.</summary>
    protected LearningRateSchedule(Optimizer optimizer)
        : this((optimizer ?? throw new ArgumentNullException(nameof(optimizer))).LearningRate) => Optimizer = optimizer;

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
    public abstract double LearningRateAt(int step);

    /// <summary>Advances one step and sets the optimizer (if any) to the new rate, which it returns.</summary>
    public double Step()
    {
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
        if (Optimizer != null) Optimizer.LearningRate = CurrentLearningRate;
    }

    /// <summary>Throws unless <paramref name="step"/> is non-negative.</summary>
    protected void CheckStep(int step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), $"{GetType().Name}: expected a non-negative step, got {step}.");
    }
}
