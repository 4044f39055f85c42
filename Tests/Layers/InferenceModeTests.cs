using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>
/// Inference neither races on nor leaks the module's training flag: evaluation runs under an
/// <see cref="EvaluationScope"/>, which changes nothing shared (issue 13, item 2).
/// </summary>
[NonParallelizable]
public class InferenceModeTests
{
    /// <summary>A model whose output depends on the mode: Dropout drops and BatchNorm normalises by the batch in training.</summary>
    private static Sequential Model() =>
        new(new Linear(4, 32, generator: new Generator(1)), new BatchNorm1d(32), new ReLU(), new Dropout(0.5, new Generator(2)),
            new Linear(32, 3, generator: new Generator(3)));

    private static TensorDataset Data(int count, int features) =>
        new(Tensor.Normal([count, features], 0, 1, new Generator(5)), Tensor.FromArray(Enumerable.Range(0, count).Select(i => (long)(i % 3)).ToArray()));

    private static Trainer TrainerFor(Module model, Optimizer optimizer) =>
        new(model, optimizer, (p, y) => p.CrossEntropy(y), [new Accuracy()]) { Output = null };

    [Test]
    public void AFailingEvaluateLeavesTheModelInTrainingMode()
    {
        using var model = Model();
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0.1);
        var trainer = TrainerFor(model, optimizer);
        using var badValidation = Data(8, 5);   // 5 features where the model takes 4
        Assert.Throws<ArgumentException>(() => trainer.Evaluate(badValidation));
        Assert.That(model.Training, Is.True, "a failed Evaluate must not leave the model in evaluation mode");
        Assert.That(model.NamedChildren().All(c => c.Module.Training), Is.True, "nor any of its layers");

        using var train = Data(16, 4);
        Assert.Throws<ArgumentException>(() => trainer.Fit(train, epochs: 1, batchSize: 8, validation: badValidation, generator: new Generator(6)));
        Assert.That(model.Training, Is.True, "Fit with a bad validation set must not leave the model in evaluation mode");
    }

    [Test]
    public void AScopeRunsEvaluationModeWithoutChangingTheModule()
    {
        using var scope = new TensorScope();
        using var model = Model();
        using var x = Tensor.Normal([6, 4], 0, 1, new Generator(7));
        model.Eval();
        var evaluated = model.Forward(x).ToArray<float>();
        model.Train();
        using (new EvaluationScope())
        {
            Assert.That(model.Forward(x).ToArray<float>(), Is.EqualTo(evaluated), "inside a scope the model computes as in Eval()");
            Assert.That(model.Training, Is.True, "the scope leaves the flag alone");
        }
        Assert.That(EvaluationScope.Active, Is.False, "the scope closed");
        Assert.That(model.Forward(x).ToArray<float>(), Is.Not.EqualTo(evaluated), "after the scope the model trains again (dropout, batch statistics)");
    }

    [Test]
    public void ConcurrentPredictionsAgreeAndLeaveTheModelTraining()
    {
        using var model = Model();
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0.1);
        var trainer = TrainerFor(model, optimizer);
        using var data = Data(16, 4);
        float[] expected;
        using (var single = trainer.Predict(data)) expected = single.ToArray<float>();

        const int Threads = 8, Calls = 50;
        var mismatches = new int[Threads];
        var flagsSeenOff = new int[Threads];
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
        {
            for (int call = 0; call < Calls; call++)
            {
                using var output = trainer.Predict(data);
                if (!output.ToArray<float>().SequenceEqual(expected)) mismatches[t]++;
                if (!model.Training) flagsSeenOff[t]++;
            }
        });
        Assert.That(mismatches.Sum(), Is.Zero, $"predictions that differ from the single-threaded one, out of {Threads * Calls}");
        Assert.That(flagsSeenOff.Sum(), Is.Zero, "times a thread saw the shared Training flag switched off");
        Assert.That(model.Training, Is.True);
    }
}
