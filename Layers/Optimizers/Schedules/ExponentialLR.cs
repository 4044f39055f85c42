namespace Tensorium.Optim;

/// <summary>
/// Multiplies the rate by <see cref="Gamma"/> every step, as
/// torch.optim.lr_scheduler.ExponentialLR: lr(t) = base · gamma^t.
/// </summary>
public sealed class ExponentialLR : LearningRateSchedule
{
    /// <summary>Drives <paramref name="optimizer"/>.</summary>
    public ExponentialLR(Optimizer optimizer, double gamma) : base(optimizer)
    {
        Gamma = Check(gamma);
        Apply();
    }

    /// <summary>Computes rates from <paramref name="baseLearningRate"/> without an optimizer.</summary>
    public ExponentialLR(double baseLearningRate, double gamma) : base(baseLearningRate) => Gamma = Check(gamma);

    /// <summary>Factor applied every step.</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    protected override double RateAt(int step, double baseLearningRate) => baseLearningRate * Math.Pow(Gamma, step);

    private static double Check(double gamma) =>
        gamma >= 0 && double.IsFinite(gamma) ? gamma : throw new ArgumentOutOfRangeException(nameof(gamma), $"ExponentialLR: expected a finite, non-negative gamma, got {gamma}.");
}
