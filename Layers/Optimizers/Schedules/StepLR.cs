namespace Tensorium.Optim;

/// <summary>
/// Multiplies the rate by <see cref="Gamma"/> every <see cref="StepSize"/> steps, as
/// torch.optim.lr_scheduler.StepLR: lr(t) = base · gamma^floor(t / stepSize).
/// </summary>
public sealed class StepLR : LearningRateSchedule
{
    /// <summary>Drives <paramref name="optimizer"/>.</summary>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        (StepSize, Gamma) = Check(stepSize, gamma);
        Apply();
    }

    /// <summary>Computes rates from <paramref name="baseLearningRate"/> without an optimizer.</summary>
    public StepLR(double baseLearningRate, int stepSize, double gamma = 0.1) : base(baseLearningRate) =>
        (StepSize, Gamma) = Check(stepSize, gamma);

    /// <summary>Steps between decays.</summary>
    public int StepSize { get; }

    /// <summary>Factor applied at each decay.</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    protected override double RateAt(int step, double baseLearningRate) =>
        baseLearningRate * Math.Pow(Gamma, step / StepSize);

    private static (int, double) Check(int stepSize, double gamma)
    {
        if (stepSize <= 0) throw new ArgumentOutOfRangeException(nameof(stepSize), $"StepLR: expected a positive step size, got {stepSize}.");
        if (!(gamma >= 0 && double.IsFinite(gamma))) throw new ArgumentOutOfRangeException(nameof(gamma), $"StepLR: expected a finite, non-negative gamma, got {gamma}.");
        return (stepSize, gamma);
    }
}
