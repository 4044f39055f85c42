using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>Inference in one call: Module.Predict and Trainer.Predict(Tensor), and a Trainer built from a loss object (issue 16).</summary>
[NonParallelizable]
public class PredictTests
{
    /// <summary>Dropout and BatchNorm make the output depend on the mode.</summary>
    private static Sequential Model() =>
        new(new Linear(4, 16, generator: new Generator(1)), new BatchNorm1d(16), new ReLU(), new Dropout(0.5, new Generator(2)),
            new Linear(16, 3, generator: new Generator(3)));

    /// <summary>A module whose output is its input.</summary>
    private sealed class PassThrough : Module
    {
        public override Tensor Forward(Tensor input) => input;
    }

    [Test]
    public void PredictRunsInEvaluationModeWithoutTapeAndLeavesTheModelTraining()
    {
        using var model = Model();
        using var x = Tensor.Normal([6, 4], 0, 1, new Generator(4));
        float[] expected;
        model.Eval();
        using (Tape.NoGrad())
        using (var evaluated = model.Forward(x)) expected = evaluated.ToArray<float>();
        model.Train();

        using var predicted = model.Predict(x);
        Assert.That(predicted.ToArray<float>(), Is.EqualTo(expected), "Predict computes what Eval() + NoGrad computes");
        Assert.That(predicted.RequiresGrad, Is.False, "nothing was recorded");
        Assert.That(model.Training, Is.True, "the module's flag is untouched");
        Assert.That(EvaluationScope.Active, Is.False, "the evaluation scope closed");
    }

    [Test]
    public void PredictFreesEverythingButTheResultAndTheCallerOwnsIt()
    {
        using var model = Model();
        using var x = Tensor.Normal([32, 4], 0, 1, new Generator(5));
        model.Predict(x).Dispose();   // warm the pool
        long before = Reference.SettledLiveBuffers();
        var output = model.Predict(x);
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before + 1), "only the output is alive");
        output.Dispose();
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before));

        // Inside a caller's scope the result belongs to that scope, not to Predict's own.
        float first;
        using (var scope = new TensorScope())
        {
            var inScope = model.Predict(x);
            first = inScope.ToArray<float>()[0];
            Assert.That(inScope.IsDisposed, Is.False, "the result outlives Predict's scope");
        }
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before), "the caller's scope freed it");
        Assert.That(float.IsFinite(first));
    }

    [Test]
    public void PredictOfAnIdentityReturnsATensorOfItsOwn()
    {
        using var model = new PassThrough();
        using var x = Tensor.FromArray(new float[] { 1, 2, 3 });
        var y = model.Predict(x);
        Assert.That(y, Is.Not.SameAs(x));
        y.Dispose();
        Assert.That(x.ToArray<float>(), Is.EqualTo(new float[] { 1, 2, 3 }), "disposing the result leaves the input alone");
    }

    [Test]
    public void PredictRejectsADisposedInputNamingTheOp()
    {
        using var model = Model();
        var x = Tensor.Zeros([2, 4]);
        x.Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => model.Predict(x));
        Assert.That(e!.Message, Does.Contain("Predict"));
    }

    [Test]
    public void TrainerPredictOnATensorBatchesAndConcatenates()
    {
        using var model = Model();
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0.1);
        var trainer = new Trainer(model, optimizer, new CrossEntropyLoss()) { Output = null };
        using var x = Tensor.Normal([10, 4], 0, 1, new Generator(6));
        using var whole = model.Predict(x);
        using var batched = trainer.Predict(x, batchSize: 3);   // 3 + 3 + 3 + 1
        Assert.That(batched.Shape, Is.EqualTo(new[] { 10, 3 }));
        Assert.That(batched.ToArray<float>(), Is.EqualTo(whole.ToArray<float>()).Within(1e-6));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Predict(x, batchSize: 0));
        Assert.That(e!.Message, Does.Contain("Trainer.Predict").And.Contain("0"));
    }

    [Test]
    public void ATrainerTakesALossObjectAndTrainsAsWithTheFunction()
    {
        History Run(Func<Module, Optimizer, Trainer> make)
        {
            using var data = new TensorDataset(Tensor.Normal([24, 4], 0, 1, new Generator(7)),
                Tensor.FromArray(Enumerable.Range(0, 24).Select(i => (long)(i % 3)).ToArray()));
            using var model = Model();
            using var optimizer = new Sgd(model.Parameters(), learningRate: 0.1);
            var trainer = make(model, optimizer);
            trainer.Output = null;
            return trainer.Fit(data, epochs: 2, batchSize: 8, generator: new Generator(8));
        }
        var withObject = Run((m, o) => new Trainer(m, o, new CrossEntropyLoss(labelSmoothing: 0.1)));
        var withFunction = Run((m, o) => new Trainer(m, o, (p, y) => p.CrossEntropy(y, labelSmoothing: 0.1)));
        Assert.That(withObject["loss"], Is.EqualTo(withFunction["loss"]));
        using var model = Model();
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0.1);
        Assert.Throws<ArgumentNullException>(() => new Trainer(model, optimizer, (ILoss)null!));
    }
}
