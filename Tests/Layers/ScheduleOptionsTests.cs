using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>
/// MultiStepLR, ExponentialLR, CosineAnnealingWarmRestarts, OneCycleLR and ReduceLROnPlateau:
/// values at given steps as PyTorch's schedulers compute them, and driving an optimizer.
/// </summary>
public class ScheduleOptionsTests
{
    private static Tensor Parameter()
    {
        var p = Tensor.FromArray(new[] { 1.0 });
        p.RequiresGrad = true;
        return p;
    }

    private static double[] Rates(LearningRateSchedule schedule, int count) => Enumerable.Range(0, count).Select(schedule.LearningRateAt).ToArray();

    [Test]
    public void MultiStepLRDecaysAtEachMilestone()
    {
        var schedule = new MultiStepLR(0.1, [5, 2, 5], gamma: 0.5);   // unsorted, 5 twice: decays twice there
        Reference.AssertClose(Rates(schedule, 8), [0.1, 0.1, 0.05, 0.05, 0.05, 0.0125, 0.0125, 0.0125], 1e-16, 1e-14, "MultiStepLR");
        Assert.That(schedule.Milestones, Is.EqualTo(new[] { 2, 5, 5 }));
    }

    [Test]
    public void ExponentialLRMultipliesEveryStep()
    {
        var schedule = new ExponentialLR(0.2, gamma: 0.9);
        Reference.AssertClose(Rates(schedule, 4), [0.2, 0.18, 0.162, 0.1458], 1e-16, 1e-14, "ExponentialLR");
    }

    [Test]
    public void CosineWarmRestartsRestartWithGrowingPeriods()
    {
        double Half(double x) => (1 + Math.Cos(Math.PI * x)) / 2;
        var growing = new CosineAnnealingWarmRestarts(1.0, t0: 2, tMult: 2);
        // Periods [0, 2), [2, 6), [6, 14): the rate jumps back to 1 at 2 and at 6.
        Reference.AssertClose(Rates(growing, 8), [1, Half(0.5), 1, Half(0.25), Half(0.5), Half(0.75), 1, Half(1.0 / 8)], 1e-15, 1e-14, "tMult 2");
        var fixedPeriod = new CosineAnnealingWarmRestarts(0.5, t0: 3, etaMin: 0.1);
        double F(double x) => 0.1 + 0.4 * Half(x);
        Reference.AssertClose(Rates(fixedPeriod, 7), [0.5, F(1.0 / 3), F(2.0 / 3), 0.5, F(1.0 / 3), F(2.0 / 3), 0.5], 1e-15, 1e-14, "tMult 1");
    }

    [Test]
    public void OneCycleFollowsPyTorchsPhases()
    {
        // maxLr 1, 10 steps, 30% rising: initial 1/25 = 0.04, minimum 0.04/1e4; phase ends at steps 2 and 9.
        const double initial = 0.04, minimum = 4e-6;
        double Cos(double from, double to, double pct) => to + (from - to) / 2 * (1 + Math.Cos(Math.PI * pct));
        var cosine = new OneCycleLR(1.0, totalSteps: 10);
        Reference.AssertClose(Rates(cosine, 11),
            [initial, 0.52, 1, Cos(1, minimum, 1.0 / 7), Cos(1, minimum, 2.0 / 7), Cos(1, minimum, 3.0 / 7), Cos(1, minimum, 4.0 / 7),
             Cos(1, minimum, 5.0 / 7), Cos(1, minimum, 6.0 / 7), minimum, Cos(1, minimum, 8.0 / 7)], 1e-15, 1e-12, "cosine");
        Ref.Throws<ArgumentOutOfRangeException>(() => cosine.LearningRateAt(11), "OneCycleLR", "step 11", "10 total steps");

        var linear = new OneCycleLR(1.0, totalSteps: 10, annealStrategy: AnnealStrategy.Linear);
        Assert.That(linear.LearningRateAt(3), Is.EqualTo(1 + (minimum - 1) / 7).Within(1e-15));

        // Three phases: up to step 2, back down to the initial rate at step 4, then to the minimum at 9.
        var three = new OneCycleLR(1.0, totalSteps: 10, threePhase: true);
        Reference.AssertClose([three.LearningRateAt(2), three.LearningRateAt(3), three.LearningRateAt(4), three.LearningRateAt(5), three.LearningRateAt(9)],
            [1, 0.52, initial, Cos(initial, minimum, 0.2), minimum], 1e-15, 1e-12, "three phases");
    }

    [Test]
    public void OneCycleRefusesAPhaseWithNoSteps()
    {
        // pctStart 0.1 of 10 steps: the rise ends at step 0, where it starts, so its rate at step 0
        // was 0 / 0 = NaN. PyTorch 1.13 raises ZeroDivisionError making the same scheduler.
        Ref.Throws<ArgumentOutOfRangeException>(() => new OneCycleLR(1.0, totalSteps: 10, pctStart: 0.1), "OneCycleLR", "pctStart 0.1", "phase 1");
        // Three phases of 9 steps with pctStart 5/9: the third phase (ends 4, 8, 8) would have none.
        Ref.Throws<ArgumentOutOfRangeException>(() => new OneCycleLR(1.0, totalSteps: 9, pctStart: 5.0 / 9, threePhase: true), "OneCycleLR", "phase 3");
        using var p = Parameter();
        using var opt = new Sgd([p], learningRate: 123);
        Ref.Throws<ArgumentOutOfRangeException>(() => new OneCycleLR(opt, 1.0, totalSteps: 10, pctStart: 0.1), "OneCycleLR", "phase 1");
        Assert.That(opt.LearningRate, Is.EqualTo(123), "a rejected schedule leaves the optimizer alone");
        // A first phase shorter than a step is fine, as in PyTorch: 0.05 of 10 starts falling at once.
        Assert.That(new OneCycleLR(1.0, totalSteps: 10, pctStart: 0.05).LearningRateAt(0), Is.EqualTo(0.9931806789787544).Within(1e-12));
    }

    [Test]
    public void OneCycleDrivesTheOptimizerFromTheStartingRate()
    {
        using var p = Parameter();
        using var opt = new Sgd([p], learningRate: 123);
        Ref.Throws<ArgumentOutOfRangeException>(() => new OneCycleLR(opt, 1.0, totalSteps: 0), "OneCycleLR", "totalSteps");
        Assert.That(opt.LearningRate, Is.EqualTo(123), "a rejected schedule leaves the optimizer alone");
        var schedule = new OneCycleLR(opt, 2.0, totalSteps: 10);
        Assert.That(opt.LearningRate, Is.EqualTo(0.08).Within(1e-15));
        schedule.Step();
        schedule.Step();
        Assert.That(opt.LearningRate, Is.EqualTo(2.0).Within(1e-15));
    }

    [Test]
    public void NewSchedulesDriveEveryParameterGroup()
    {
        using var a = Parameter();
        using var b = Parameter();
        using var opt = new Sgd([a], learningRate: 0.1);
        opt.AddParameterGroup(new ParameterGroup([b], learningRate: 0.4));
        var schedule = new CosineAnnealingWarmRestarts(opt, t0: 2, etaMin: 0.02);
        schedule.Step();
        Assert.That(opt.LearningRate, Is.EqualTo(0.06).Within(1e-15));
        Assert.That(opt.ParameterGroups[1].LearningRate, Is.EqualTo(0.21).Within(1e-15));
        schedule.Step();
        Assert.That(opt.ParameterGroups[1].LearningRate, Is.EqualTo(0.4).Within(1e-15), "restart");
    }

    [Test]
    public void ReduceOnPlateauCutsAfterPatienceWithCooldownAndFloor()
    {
        using var a = Parameter();
        using var b = Parameter();
        using var opt = new Sgd([a], learningRate: 0.1);
        opt.AddParameterGroup(new ParameterGroup([b], learningRate: 0.04));
        var plateau = new ReduceLROnPlateau(opt, factor: 0.5, patience: 1, threshold: 0.1, cooldown: 1, minLearningRate: 0.015);
        double[] metrics = [1.0, 0.95, 0.92, 0.93, 0.5, 0.6, 0.7, 0.8];
        // 0.95 and 0.92 are not 10% better than 1.0: the second bad step (> patience 1) cuts; the
        // next bad step falls in the cooldown; 0.5 is a new best; 0.6, 0.7 cut again.
        double[] rates = [0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025];
        double[] groupRates = [0.04, 0.04, 0.02, 0.02, 0.02, 0.02, 0.015, 0.015];
        bool[] cuts = [false, false, true, false, false, false, true, false];
        for (int i = 0; i < metrics.Length; i++)
        {
            Assert.That(plateau.Step(metrics[i]), Is.EqualTo(cuts[i]), $"cut at step {i + 1}");
            Assert.That(opt.LearningRate, Is.EqualTo(rates[i]).Within(1e-15), $"lr after step {i + 1}");
            Assert.That(opt.ParameterGroups[1].LearningRate, Is.EqualTo(groupRates[i]).Within(1e-15), $"group lr after step {i + 1}");
        }
        Assert.That(plateau.Best, Is.EqualTo(0.5));
    }

    [Test]
    public void ReduceOnPlateauInMaxModeWithAnAbsoluteThreshold()
    {
        using var a = Parameter();
        using var opt = new Adam([a], learningRate: 0.01);
        var plateau = new ReduceLROnPlateau(opt, PlateauMode.Max, factor: 0.1, patience: 0, threshold: 0.5, thresholdMode: ThresholdMode.Absolute);
        Assert.That(plateau.Step(1.0), Is.False);
        Assert.That(plateau.Step(1.4), Is.True, "1.4 is not above 1 + 0.5");
        Assert.That(opt.LearningRate, Is.EqualTo(0.001).Within(1e-17));
        Assert.That(plateau.Step(2.0), Is.False);
        Assert.That(plateau.Best, Is.EqualTo(2.0));
    }

    [Test]
    public void BadArgumentsAreRejected()
    {
        using var a = Parameter();
        using var opt = new Sgd([a], 0.1);
        Ref.Throws<ArgumentOutOfRangeException>(() => new MultiStepLR(0.1, [0, 3]), "MultiStepLR", "positive milestones");
        Ref.Throws<ArgumentOutOfRangeException>(() => new ExponentialLR(0.1, -0.5), "ExponentialLR", "gamma");
        Ref.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealingWarmRestarts(0.1, t0: 0), "CosineAnnealingWarmRestarts", "t0");
        Ref.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealingWarmRestarts(0.1, t0: 2, tMult: 0), "CosineAnnealingWarmRestarts", "tMult");
        Ref.Throws<ArgumentOutOfRangeException>(() => new OneCycleLR(1.0, 10, pctStart: 1), "OneCycleLR", "pctStart");
        Ref.Throws<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(opt, factor: 1), "ReduceLROnPlateau", "factor");
        Ref.Throws<ArgumentException>(() => new ReduceLROnPlateau(opt).Step(double.NaN), "ReduceLROnPlateau", "NaN");
    }
}
