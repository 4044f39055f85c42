namespace Tensorium.Optim;

/// <summary>
/// Linear warm-up: the rate climbs from base · startFactor to the base rate over
/// <see cref="WarmupSteps"/> steps, then another schedule takes over (or the base rate stays).
/// Values match PyTorch's LinearLR(start_factor, end_factor = 1, total_iters = warmupSteps)
/// chained with SequentialLR(milestones = [warmupSteps]): lr(t) = base (s + (1 - s) t / W) for
/// t &lt; W, then <c>then.LearningRateAt(t - W)</c>.
/// </summary>
public sealed class LinearWarmup : LearningRateSchedule
{
    /// <summary>
    /// Drives <paramref name="optimizer"/>. Build <paramref name="then"/> without an optimizer
    /// (e.g. <c>new CosineAnnealing(optimizer.LearningRate, tMax)</c>): only this schedule sets the rate.
    /// </summary>
    public LinearWarmup(Optimizer optimizer, int warmupSteps, LearningRateSchedule? then = null, double startFactor = 1.0 / 3) : base(optimizer)
    {
        (WarmupSteps, Then, StartFactor) = Check(warmupSteps, then, startFactor);
        Apply();
    }

    /// <summary>Computes rates from <paramref name="baseLearningRate"/> without an optimizer.</summary>
    public LinearWarmup(double baseLearningRate, int warmupSteps, LearningRateSchedule? then = null, double startFactor = 1.0 / 3) : base(baseLearningRate) =>
        (WarmupSteps, Then, StartFactor) = Check(warmupSteps, then, startFactor);

    /// <summary>Length of the warm-up.</summary>
    public int WarmupSteps { get; }

    /// <summary>The schedule after the warm-up (its step 0 is the first step after it), or null for a constant base rate.</summary>
    public LearningRateSchedule? Then { get; }

    /// <summary>Fraction of the base rate at step 0 (PyTorch LinearLR's default is 1/3).</summary>
    public double StartFactor { get; }

    /// <inheritdoc />
    protected override double RateAt(int step, double baseLearningRate)
    {
        if (step < WarmupSteps) return baseLearningRate * (StartFactor + (1 - StartFactor) * step / WarmupSteps);
        if (Then == null) return baseLearningRate;
        // A group with its own rate scales the follower's base by the same ratio.
        double thenBase = baseLearningRate == BaseLearningRate || BaseLearningRate == 0
            ? Then.BaseLearningRate
            : baseLearningRate * (Then.BaseLearningRate / BaseLearningRate);
        return Then.LearningRateFromBase(step - WarmupSteps, thenBase);
    }

    private static (int, LearningRateSchedule?, double) Check(int warmupSteps, LearningRateSchedule? then, double startFactor)
    {
        if (warmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps), $"LinearWarmup: expected a non-negative number of warm-up steps, got {warmupSteps}.");
        if (!(startFactor >= 0 && startFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(startFactor), $"LinearWarmup: expected a start factor in [0, 1], got {startFactor}.");
        return (warmupSteps, then, startFactor);
    }
}
