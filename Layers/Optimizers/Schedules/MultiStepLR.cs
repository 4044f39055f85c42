namespace Tensorium.Optim;

/// <summary>
/// Multiplies the rate by <see cref="Gamma"/> at each milestone, as
/// torch.optim.lr_scheduler.MultiStepLR: lr(t) = base · gamma^(number of milestones ≤ t). A
/// milestone listed twice decays twice, as in PyTorch.
/// </summary>
public sealed class MultiStepLR : LearningRateSchedule
{
    private readonly int[] _milestones;

    /// <summary>Drives <paramref name="optimizer"/>.</summary>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1) : base(optimizer)
    {
        (_milestones, Gamma) = Check(milestones, gamma);
        Apply();
    }

    /// <summary>Computes rates from <paramref name="baseLearningRate"/> without an optimizer.</summary>
    public MultiStepLR(double baseLearningRate, IEnumerable<int> milestones, double gamma = 0.1) : base(baseLearningRate) =>
        (_milestones, Gamma) = Check(milestones, gamma);

    /// <summary>The steps at which the rate decays, sorted.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <summary>Factor applied at each milestone.</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    protected override double RateAt(int step, double baseLearningRate) =>
        baseLearningRate * Math.Pow(Gamma, _milestones.Count(m => m <= step));

    private static (int[], double) Check(IEnumerable<int> milestones, double gamma)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        var sorted = milestones.Order().ToArray();
        if (sorted.Length > 0 && sorted[0] <= 0)
            throw new ArgumentOutOfRangeException(nameof(milestones), $"MultiStepLR: expected positive milestones, got [{string.Join(", ", sorted)}].");
        if (!(gamma >= 0 && double.IsFinite(gamma))) throw new ArgumentOutOfRangeException(nameof(gamma), $"MultiStepLR: expected a finite, non-negative gamma, got {gamma}.");
        return (sorted, gamma);
    }
}
