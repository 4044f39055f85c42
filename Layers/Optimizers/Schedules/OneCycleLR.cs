namespace Tensorium.Optim;

/// <summary>How <see cref="OneCycleLR"/> moves between its phase boundaries.</summary>
public enum AnnealStrategy
{
    /// <summary>Half a cosine (PyTorch's 'cos', the default).</summary>
    Cosine,
    /// <summary>A straight line (PyTorch's 'linear').</summary>
    Linear,
}

/// <summary>
/// The one-cycle policy (Smith and Topin), as torch.optim.lr_scheduler.OneCycleLR with
/// cycle_momentum=False: the rate rises from maxLr / divFactor to maxLr over the first
/// <see cref="PctStart"/> of <see cref="TotalSteps"/>, then falls to maxLr / (divFactor ·
/// finalDivFactor); with <c>threePhase</c> it first falls back to the starting rate
/// symmetrically and only then to the minimum. Step it once per batch. The base rate of this
/// schedule is maxLr; a parameter group with its own learning rate uses that as its maxLr (as a
/// per-group max_lr list in PyTorch). Momentum is not cycled.
/// </summary>
public sealed class OneCycleLR : LearningRateSchedule
{
    /// <summary>Drives <paramref name="optimizer"/> (its own learning rate is replaced by the cycle's).</summary>
    public OneCycleLR(Optimizer optimizer, double maxLearningRate, int totalSteps, double pctStart = 0.3,
        AnnealStrategy annealStrategy = AnnealStrategy.Cosine, double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false)
        : base(OnMaxRate(optimizer, maxLearningRate, () => Check(totalSteps, pctStart, annealStrategy, divFactor, finalDivFactor, threePhase)))
    {
        (TotalSteps, PctStart, Strategy, DivFactor, FinalDivFactor, ThreePhase) = Check(totalSteps, pctStart, annealStrategy, divFactor, finalDivFactor, threePhase);
        Apply();
    }

    /// <summary>Computes rates for a cycle peaking at <paramref name="maxLearningRate"/> without an optimizer.</summary>
    public OneCycleLR(double maxLearningRate, int totalSteps, double pctStart = 0.3,
        AnnealStrategy annealStrategy = AnnealStrategy.Cosine, double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false)
        : base(maxLearningRate) =>
        (TotalSteps, PctStart, Strategy, DivFactor, FinalDivFactor, ThreePhase) = Check(totalSteps, pctStart, annealStrategy, divFactor, finalDivFactor, threePhase);

    /// <summary>Steps in the cycle; stepping past it is an error, as in PyTorch.</summary>
    public int TotalSteps { get; }
    /// <summary>Fraction of the cycle spent rising.</summary>
    public double PctStart { get; }
    /// <summary>Cosine or linear annealing between the phase boundaries.</summary>
    public AnnealStrategy Strategy { get; }
    /// <summary>The starting rate is maxLr / this.</summary>
    public double DivFactor { get; }
    /// <summary>The final rate is the starting rate / this.</summary>
    public double FinalDivFactor { get; }
    /// <summary>Whether the rate returns to the starting rate before the final decay.</summary>
    public bool ThreePhase { get; }

    /// <inheritdoc />
    protected override double RateAt(int step, double baseLearningRate)
    {
        if (step > TotalSteps)
            throw new ArgumentOutOfRangeException(nameof(step), $"OneCycleLR: step {step} is past the cycle of {TotalSteps} total steps.");
        double initial = baseLearningRate / DivFactor, minimum = initial / FinalDivFactor;
        // PyTorch's phase table: (last step of the phase, start rate, end rate), with float ends.
        double[] ends = PhaseEnds(TotalSteps, PctStart, ThreePhase);
        (double End, double From, double To)[] phases = ThreePhase
            ? [(ends[0], initial, baseLearningRate), (ends[1], baseLearningRate, initial), (ends[2], initial, minimum)]
            : [(ends[0], initial, baseLearningRate), (ends[1], baseLearningRate, minimum)];
        double start = 0;
        for (int i = 0; i < phases.Length; i++)
        {
            var (end, from, to) = phases[i];
            if (step <= end || i == phases.Length - 1)
            {
                double pct = (step - start) / (end - start);
                return Strategy == AnnealStrategy.Cosine
                    ? to + (from - to) / 2 * (1 + Math.Cos(Math.PI * pct))
                    : (to - from) * pct + from;
            }
            start = end;
        }
        throw new InvalidOperationException("OneCycleLR: unreachable; the last phase always answers.");
    }

    /// <summary>Checks everything, then sets the optimizer's rate to maxLr: a bad argument leaves the optimizer alone.</summary>
    private static Optimizer OnMaxRate(Optimizer optimizer, double maxLearningRate, Action checkRest)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        checkRest();
        if (!(maxLearningRate > 0 && double.IsFinite(maxLearningRate)))
            throw new ArgumentOutOfRangeException(nameof(maxLearningRate), $"OneCycleLR: expected a finite, positive maxLearningRate, got {maxLearningRate}.");
        optimizer.LearningRate = maxLearningRate;   // the base the schedule reads; Apply() then sets step 0
        return optimizer;
    }

    private static (int, double, AnnealStrategy, double, double, bool) Check(int totalSteps, double pctStart, AnnealStrategy strategy,
        double divFactor, double finalDivFactor, bool threePhase)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), $"OneCycleLR: expected a positive totalSteps, got {totalSteps}.");
        if (!(pctStart > 0 && pctStart < 1)) throw new ArgumentOutOfRangeException(nameof(pctStart), $"OneCycleLR: expected pctStart in (0, 1), got {pctStart}.");
        if (!(divFactor > 0 && double.IsFinite(divFactor))) throw new ArgumentOutOfRangeException(nameof(divFactor), $"OneCycleLR: expected a finite, positive divFactor, got {divFactor}.");
        if (!(finalDivFactor > 0 && double.IsFinite(finalDivFactor))) throw new ArgumentOutOfRangeException(nameof(finalDivFactor), $"OneCycleLR: expected a finite, positive finalDivFactor, got {finalDivFactor}.");
        if (!Enum.IsDefined(strategy)) throw new ArgumentOutOfRangeException(nameof(strategy), $"OneCycleLR: unknown anneal strategy {strategy}.");
        // A phase that ends where the one before it ended has no length: its rate would be 0 / 0
        // (NaN) at its first step. PyTorch divides by zero there too (pctStart 0.1 of 10 steps
        // raises ZeroDivisionError when the scheduler is made), so refuse it, naming why.
        double[] ends = PhaseEnds(totalSteps, pctStart, threePhase);
        for (int i = 0; i < ends.Length; i++)
            if (ends[i] == (i == 0 ? 0 : ends[i - 1]))
                throw new ArgumentOutOfRangeException(nameof(pctStart),
                    $"OneCycleLR: pctStart {pctStart} of {totalSteps} total steps{(threePhase ? " in three phases" : "")} leaves phase {i + 1} with no steps " +
                    $"(it would end at step {ends[i]}, where the one before it ends); expected pctStart * totalSteps other than {(i == 0 || !threePhase ? "1" : $"1 and {(totalSteps + 1) / 2.0}")}.");
        return (totalSteps, pctStart, strategy, divFactor, finalDivFactor, threePhase);
    }

    /// <summary>The last step of each phase, as PyTorch computes them (floats: a phase may end between steps).</summary>
    private static double[] PhaseEnds(int totalSteps, double pctStart, bool threePhase) => threePhase
        ? [pctStart * totalSteps - 1, 2 * pctStart * totalSteps - 2, totalSteps - 1]
        : [pctStart * totalSteps - 1, totalSteps - 1];
}
