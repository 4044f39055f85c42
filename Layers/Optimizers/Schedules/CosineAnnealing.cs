namespace Tensorium.Optim;

/// <summary>
/// Cosine annealing from the base rate down to <see cref="EtaMin"/> over <see cref="TMax"/>
/// steps, as torch.optim.lr_scheduler.CosineAnnealingLR (without restarts):
/// lr(t) = etaMin + (base - etaMin) (1 + cos(pi t / tMax)) / 2. Past tMax the cosine continues
/// (it rises again, period 2 tMax), which is also what PyTorch does.
/// </summary>
public sealed class CosineAnnealing : LearningRateSchedule
{
    /// <summary>Drives <paramref name="optimizer"/>.</summary>
    public CosineAnnealing(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer)
    {
        (TMax, EtaMin) = Check(tMax, etaMin);
        Apply();
    }

    /// <summary>Computes rates from <paramref name="baseLearningRate"/> without an optimizer.</summary>
    public CosineAnnealing(double baseLearningRate, int tMax, double etaMin = 0) : base(baseLearningRate) =>
        (TMax, EtaMin) = Check(tMax, etaMin);

    /// <summary>Steps from the base rate to the minimum (half a cosine period).</summary>
    public int TMax { get; }

    /// <summary>The minimum rate.</summary>
    public double EtaMin { get; }

    /// <inheritdoc />
    protected override double RateAt(int step, double baseLearningRate) =>
        EtaMin + (baseLearningRate - EtaMin) * (1 + Math.Cos(Math.PI * step / TMax)) / 2;

    private static (int, double) Check(int tMax, double etaMin)
    {
        if (tMax <= 0) throw new ArgumentOutOfRangeException(nameof(tMax), $"CosineAnnealing: expected a positive tMax, got {tMax}.");
        if (!(etaMin >= 0 && double.IsFinite(etaMin))) throw new ArgumentOutOfRangeException(nameof(etaMin), $"CosineAnnealing: expected a finite, non-negative etaMin, got {etaMin}.");
        return (tMax, etaMin);
    }
}
