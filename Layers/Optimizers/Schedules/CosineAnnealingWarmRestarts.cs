namespace Tensorium.Optim;

/// <summary>
/// Cosine annealing with warm restarts (SGDR, Loshchilov and Hutter), as
/// torch.optim.lr_scheduler.CosineAnnealingWarmRestarts: the rate follows half a cosine from the
/// base rate to <see cref="EtaMin"/> over a period of <see cref="T0"/> steps, then jumps back to
/// the base rate; each period is <see cref="TMult"/> times as long as the one before.
/// lr(t) = etaMin + (base - etaMin) (1 + cos(pi t_cur / T_i)) / 2.
/// </summary>
public sealed class CosineAnnealingWarmRestarts : LearningRateSchedule
{
    /// <summary>Drives <paramref name="optimizer"/>.</summary>
    public CosineAnnealingWarmRestarts(Optimizer optimizer, int t0, int tMult = 1, double etaMin = 0) : base(optimizer)
    {
        (T0, TMult, EtaMin) = Check(t0, tMult, etaMin);
        Apply();
    }

    /// <summary>Computes rates from <paramref name="baseLearningRate"/> without an optimizer.</summary>
    public CosineAnnealingWarmRestarts(double baseLearningRate, int t0, int tMult = 1, double etaMin = 0) : base(baseLearningRate) =>
        (T0, TMult, EtaMin) = Check(t0, tMult, etaMin);

    /// <summary>Length of the first period.</summary>
    public int T0 { get; }

    /// <summary>Growth factor of the period after each restart.</summary>
    public int TMult { get; }

    /// <summary>The minimum rate.</summary>
    public double EtaMin { get; }

    /// <inheritdoc />
    protected override double RateAt(int step, double baseLearningRate)
    {
        // Walk the periods (what PyTorch's step() does one step at a time); long arithmetic so
        // growing periods cannot overflow before they pass the step.
        long current = step, period = T0;
        while (current >= period)
        {
            current -= period;
            period *= TMult;
        }
        return EtaMin + (baseLearningRate - EtaMin) * (1 + Math.Cos(Math.PI * current / period)) / 2;
    }

    private static (int, int, double) Check(int t0, int tMult, double etaMin)
    {
        if (t0 <= 0) throw new ArgumentOutOfRangeException(nameof(t0), $"CosineAnnealingWarmRestarts: expected a positive t0, got {t0}.");
        if (tMult < 1) throw new ArgumentOutOfRangeException(nameof(tMult), $"CosineAnnealingWarmRestarts: expected an integer tMult >= 1, got {tMult}.");
        if (!(etaMin >= 0 && double.IsFinite(etaMin))) throw new ArgumentOutOfRangeException(nameof(etaMin), $"CosineAnnealingWarmRestarts: expected a finite, non-negative etaMin, got {etaMin}.");
        return (t0, tMult, etaMin);
    }
}
