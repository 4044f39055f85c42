using Tensorium.Data;
using Tensorium.Kernels.Ops;
using Tensorium.Layers;
using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>
/// Defects found reviewing the optimizers and the trainer: each test failed before its fix.
/// </summary>
[NonParallelizable]
public class OptimizerReviewTests
{
    // ---- FusedOptimizer: the public entry point checks the hyper-parameters it uses ------------

    private static IEnumerable<TestCaseData> BadHypers()
    {
        yield return new TestCaseData(OptimizerKind.Sgd, new OptimizerHyper(double.NaN), "learning rate", "NaN").SetName("SgdNaNLearningRate");
        yield return new TestCaseData(OptimizerKind.Sgd, new OptimizerHyper(-0.1), "learning rate", "-0.1").SetName("SgdNegativeLearningRate");
        yield return new TestCaseData(OptimizerKind.Sgd, new OptimizerHyper(0.1, Momentum: -0.5), "momentum", "-0.5").SetName("SgdNegativeMomentum");
        yield return new TestCaseData(OptimizerKind.Adam, new OptimizerHyper(0.1, Beta1: 1), "beta1", "1").SetName("AdamBeta1One");
        yield return new TestCaseData(OptimizerKind.AdamW, new OptimizerHyper(0.1, Beta2: -0.1), "beta2", "-0.1").SetName("AdamWNegativeBeta2");
        yield return new TestCaseData(OptimizerKind.Adam, new OptimizerHyper(0.1, Eps: -1e-8), "eps", "-1E-08").SetName("AdamNegativeEps");
        yield return new TestCaseData(OptimizerKind.AdamW, new OptimizerHyper(0.1, WeightDecay: double.PositiveInfinity), "weight decay", "Infinity").SetName("AdamWInfiniteWeightDecay");
        yield return new TestCaseData(OptimizerKind.RmsProp, new OptimizerHyper(0.1, Alpha: 1.5), "alpha", "1.5").SetName("RmsPropAlphaAboveOne");
    }

    /// <summary>
    /// FusedOptimizer.Step is public and says it is where the arguments are checked, but it
    /// checked only the tensors (and Adam's step count): a NaN or negative learning rate, a beta
    /// of 1 or a negative eps went straight into the kernel and silently wrote NaN or a wrong
    /// update into the parameter and its state.
    /// </summary>
    [TestCaseSource(nameof(BadHypers))]
    public void FusedStepRejectsBadHyperParametersAndChangesNothing(OptimizerKind kind, OptimizerHyper hyper, string what, string got)
    {
        using var p = Tensor.FromArray(new[] { 1f, -2f, 3f });
        using var g = Tensor.FromArray(new[] { 0.5f, 0.25f, -1f });
        using var s1 = Tensor.FromArray(new[] { 0.1f, 0.2f, 0.3f });
        using var s2 = Tensor.FromArray(new[] { 0.4f, 0.5f, 0.6f });
        string op = kind switch { OptimizerKind.Sgd => "sgd", OptimizerKind.Adam => "adam", OptimizerKind.AdamW => "adamw", _ => "rmsprop" };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => FusedOptimizer.Step(kind, p, g, s1, s2, hyper));
        Assert.That(e!.Message, Does.StartWith(op + ":").And.Contain(what).And.Contain(got));
        Assert.That(p.ToArray<float>(), Is.EqualTo(new[] { 1f, -2f, 3f }), "the parameter is unchanged");
        Assert.That(s1.ToArray<float>(), Is.EqualTo(new[] { 0.1f, 0.2f, 0.3f }), "state 1 is unchanged");
        Assert.That(s2.ToArray<float>(), Is.EqualTo(new[] { 0.4f, 0.5f, 0.6f }), "state 2 is unchanged");
    }

    // ---- Accuracy ----------------------------------------------------------------------------

    /// <summary>
    /// Accuracy compared argmax [N] with the raw target: one-hot targets [N, C] broadcast against
    /// it, so with N == C (here 3 examples, 3 classes) it counted N * C comparisons and reported a
    /// wrong value without an error (1/9 here, not 2/3), and with N != C it failed inside Eq
    /// without naming the metric. Targets now go through the same flattening as the other
    /// classification metrics (labels or one-hot rows, as TopKAccuracy's documentation promises).
    /// </summary>
    [Test]
    public void AccuracyTakesOneHotTargetsAsTheirArgmax()
    {
        // Argmax of the rows: 1, 0, 2; labels 1, 1, 2: two hits out of three.
        using var logits = Tensor.FromArray(new float[] { 0.1f, 0.9f, 0.0f, 0.8f, 0.2f, 0.0f, 0.3f, 0.1f, 0.7f }, 3, 3);
        using var labels = Tensor.FromArray(new long[] { 1, 1, 2 });
        using var oneHot = labels.OneHot(3);
        var accuracy = new Accuracy();
        accuracy.Update(logits, oneHot);
        Assert.That(accuracy.Result, Is.EqualTo(2.0 / 3).Within(1e-12));

        using var wrong = Tensor.FromArray(new long[] { 1, 1 });
        var e = Assert.Throws<ArgumentException>(() => accuracy.Update(logits, wrong));
        Assert.That(e!.Message, Does.Contain("accuracy").And.Contain("[3]").And.Contain("[2]"));
        Assert.That(accuracy.Result, Is.EqualTo(2.0 / 3).Within(1e-12), "a rejected batch is not counted");
    }

    // ---- Trainer: a failing step frees its batch ----------------------------------------------

    private static TensorDataset Data(int count)
    {
        return new TensorDataset(Tensor.Normal([count, 2], 0, 1, new Generator(5)),
            Tensor.FromArray(Enumerable.Range(0, count).Select(i => (long)(i % 3)).ToArray()));
    }

    /// <summary>
    /// The trainer moves each batch out of the data loader and frees it after the step, but only
    /// on success: a loss, model or metric that threw (a bad target, out of memory) left the
    /// batch's input and target tensors alive, in Fit, Evaluate and Predict alike.
    /// </summary>
    [Test]
    public void AFailingStepDoesNotLeakTheBatch()
    {
        using var data = Data(8);
        using var model = new Sequential(new Linear(2, 3, generator: new Generator(1)));
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0.1);
        // One working epoch first, so whatever a first run sets up for good is not counted.
        new Trainer(model, optimizer, (p, y) => p.CrossEntropy(y)) { Output = null }.Fit(data, epochs: 1, batchSize: 4, shuffle: false);
        var trainer = new Trainer(model, optimizer, (_, _) => throw new InvalidOperationException("boom")) { Output = null };
        using var broken = new Sequential(new Linear(3, 3, generator: new Generator(1)));   // the inputs have 2 features
        var predictor = new Trainer(broken, optimizer, (p, _) => p) { Output = null };
        long before = Reference.SettledLiveBuffers();
        Assert.Throws<InvalidOperationException>(() => trainer.Fit(data, epochs: 1, batchSize: 4, shuffle: false));
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before), "live CPU buffers after a failed Fit");
        Assert.Throws<InvalidOperationException>(() => trainer.Evaluate(data, batchSize: 4));
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before), "live CPU buffers after a failed Evaluate");
        Assert.Catch(() => predictor.Predict(data, batchSize: 4));
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before), "live CPU buffers after a failed Predict");
    }

    // ---- Schedules: a step that fails leaves the count alone ---------------------------------

    /// <summary>
    /// LearningRateSchedule.Step counted the step before computing its rate, so a step the
    /// schedule refuses (OneCycleLR past its cycle) still advanced StepCount: the schedule then
    /// reported a step it never applied (CurrentLearningRate threw from then on).
    /// </summary>
    [Test]
    public void ARefusedScheduleStepLeavesTheCountAndRate()
    {
        var p = Tensor.FromArray(new[] { 1.0 });
        p.RequiresGrad = true;
        using (p)
        using (var optimizer = new Sgd([p], learningRate: 0.1))
        {
            var schedule = new OneCycleLR(optimizer, maxLearningRate: 1, totalSteps: 2);
            schedule.Step();
            schedule.Step();
            double rate = optimizer.LearningRate;
            Assert.Throws<ArgumentOutOfRangeException>(() => schedule.Step());
            Assert.That(schedule.StepCount, Is.EqualTo(2), "the refused step is not counted");
            Assert.That(schedule.CurrentLearningRate, Is.EqualTo(rate), "the current rate is still readable");
            Assert.That(optimizer.LearningRate, Is.EqualTo(rate));
        }
    }
}
