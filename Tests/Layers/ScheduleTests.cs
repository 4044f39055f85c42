using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>Learning-rate schedules: values at given steps (as PyTorch computes them) and driving an optimizer.</summary>
public class ScheduleTests
{
    private static Tensor Parameter()
    {
        var p = Tensor.FromArray(new[] { 1.0 });
        p.RequiresGrad = true;
        return p;
    }

    [Test]
    public void StepLRDecaysEveryStepSizeSteps()
    {
        var schedule = new StepLR(0.1, stepSize: 3, gamma: 0.5);
        double[] expected = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025];
        Reference.AssertClose(Enumerable.Range(0, 8).Select(schedule.LearningRateAt).ToArray(), expected, 1e-15, 0, "StepLR");
    }

    [Test]
    public void CosineAnnealingFollowsHalfACosine()
    {
        var schedule = new CosineAnnealing(0.1, tMax: 10, etaMin: 0.01);
        // 0.01 + 0.09 (1 + cos(pi t / 10)) / 2; cos(0.2 pi) = 0.80901699, cos(0.5 pi) = 0.
        Assert.Multiple(() =>
        {
            Assert.That(schedule.LearningRateAt(0), Is.EqualTo(0.1).Within(1e-15));
            Assert.That(schedule.LearningRateAt(2), Is.EqualTo(0.0914057647).Within(1e-10));
            Assert.That(schedule.LearningRateAt(5), Is.EqualTo(0.055).Within(1e-15));
            Assert.That(schedule.LearningRateAt(10), Is.EqualTo(0.01).Within(1e-15));
            Assert.That(schedule.LearningRateAt(15), Is.EqualTo(0.055).Within(1e-15), "past tMax the cosine rises again, as in PyTorch");
        });
    }

    [Test]
    public void LinearWarmupClimbsThenHandsOver()
    {
        var after = new StepLR(0.1, stepSize: 2, gamma: 0.5);
        var schedule = new LinearWarmup(0.1, warmupSteps: 4, then: after, startFactor: 0.25);
        // 0.1 (0.25 + 0.75 t / 4) for t < 4, then StepLR from its own step 0.
        double[] expected = [0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1, 0.05, 0.05, 0.025];
        Reference.AssertClose(Enumerable.Range(0, 9).Select(schedule.LearningRateAt).ToArray(), expected, 1e-15, 1e-14, "warmup");
    }

    [Test]
    public void LinearWarmupWithoutFollowerKeepsTheBaseRate()
    {
        var schedule = new LinearWarmup(0.3, warmupSteps: 2);   // PyTorch LinearLR's default start factor 1/3
        Reference.AssertClose([schedule.LearningRateAt(0), schedule.LearningRateAt(1), schedule.LearningRateAt(2), schedule.LearningRateAt(50)],
            [0.1, 0.2, 0.3, 0.3], 1e-15, 1e-14, "warmup");
    }

    [Test]
    public void ScheduleDrivesItsOptimizer()
    {
        using var p = Parameter();
        using var opt = new Sgd([p], learningRate: 0.2);
        var schedule = new LinearWarmup(opt, warmupSteps: 2, then: new CosineAnnealing(opt.LearningRate, tMax: 2), startFactor: 0.5);
        Assert.That(opt.LearningRate, Is.EqualTo(0.1).Within(1e-15), "the constructor applies step 0");
        double[] expected = [0.15, 0.2, 0.1, 0.0];
        foreach (var lr in expected)
        {
            Assert.That(schedule.Step(), Is.EqualTo(lr).Within(1e-15));
            Assert.That(opt.LearningRate, Is.EqualTo(lr).Within(1e-15));
        }
        Assert.That(schedule.StepCount, Is.EqualTo(4));
    }

    [Test]
    public void BadArgumentsAreRejected()
    {
        Ref.Throws<ArgumentOutOfRangeException>(() => new StepLR(0.1, stepSize: 0), "StepLR", "step size");
        Ref.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealing(0.1, tMax: 0), "CosineAnnealing", "tMax");
        Ref.Throws<ArgumentOutOfRangeException>(() => new LinearWarmup(0.1, 3, startFactor: 2), "LinearWarmup", "start factor");
        Ref.Throws<ArgumentOutOfRangeException>(() => new StepLR(-1, stepSize: 2), "StepLR", "base learning rate");
        Ref.Throws<ArgumentOutOfRangeException>(() => new StepLR(0.1, 2).LearningRateAt(-1), "StepLR", "step");
    }
}
