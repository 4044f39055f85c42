using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>EarlyStopping with restored weights, ModelCheckpoint with a path template, and monitors that know which way is better (issue 16).</summary>
[NonParallelizable]
public class CallbackTests
{
    /// <summary>An error rate: lower is better, whatever its name says.</summary>
    private sealed class ErrorRate : IMetric
    {
        public string Name => "error_rate";
        public void Reset() { }
        public void Update(Tensor prediction, Tensor target) { }
        public double Result => 0;
        public bool HigherIsBetter => false;
    }

    private static TensorDataset Data(int count, ulong seed) =>
        new(Tensor.Normal([count, 4], 0, 1, new Generator(seed)), Tensor.FromArray(Enumerable.Range(0, count).Select(i => (long)(i % 3)).ToArray()));

    private static Linear Model() => new(4, 3, generator: new Generator(1));

    private static Dictionary<string, double> Logs(string name, double value) => new() { ["loss"] = 1, [name] = value };

    [Test]
    public void AFailedSaveDoesNotBecomeTheBest()
    {
        using var model = Model();
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0.1);
        var trainer = new Trainer(model, optimizer, new CrossEntropyLoss()) { Output = null };
        var saved = new List<int>();
        var checkpoint = new ModelCheckpoint((_, epoch) =>
        {
            if (epoch == 2) throw new IOException("disk full");
            saved.Add(epoch);
        }, monitor: "val_loss");
        checkpoint.OnTrainBegin(trainer);
        checkpoint.OnEpochEnd(1, Logs("val_loss", 0.9), trainer);
        Assert.Throws<IOException>(() => checkpoint.OnEpochEnd(2, Logs("val_loss", 0.5), trainer));
        checkpoint.OnEpochEnd(3, Logs("val_loss", 0.6), trainer);
        Assert.That(saved, Is.EqualTo(new[] { 1, 3 }), "epoch 3 beats the last saved best (0.9), though not the unsaved 0.5");
        Assert.That(checkpoint.BestEpoch, Is.EqualTo(3));
    }

    [Test]
    public void AutoModeAsksTheMetricWhichWayIsBetter()
    {
        using var model = Model();
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0.1);
        var trainer = new Trainer(model, optimizer, new CrossEntropyLoss(), [new Accuracy(), new ErrorRate()]) { Output = null };

        var accuracy = new EarlyStopping("val_accuracy", patience: 2);
        accuracy.OnTrainBegin(trainer);
        bool[] stops = new[] { 0.5, 0.6, 0.55, 0.58 }.Select((v, i) => accuracy.OnEpochEnd(i + 1, Logs("val_accuracy", v), trainer)).ToArray();
        Assert.That(stops, Is.EqualTo(new[] { false, false, false, true }), "accuracy rises: 0.6 is the best, two epochs below it stop");
        Assert.That((accuracy.BestEpoch, accuracy.Best, accuracy.StoppedEpoch), Is.EqualTo((2, 0.6, 4)));

        var error = new EarlyStopping("val_error_rate", patience: 1);
        error.OnTrainBegin(trainer);
        Assert.That(error.OnEpochEnd(1, Logs("val_error_rate", 0.5), trainer), Is.False);
        Assert.That(error.OnEpochEnd(2, Logs("val_error_rate", 0.4), trainer), Is.False, "a lower error rate improves, though its name has no 'loss'");
        Assert.That(error.OnEpochEnd(3, Logs("val_error_rate", 0.45), trainer), Is.True);

        var unknown = new EarlyStopping("val_bits");
        unknown.OnTrainBegin(trainer);
        var e = Assert.Throws<InvalidOperationException>(() => unknown.OnEpochEnd(1, Logs("val_bits", 1), trainer));
        Assert.That(e!.Message, Does.Contain("EarlyStopping").And.Contain("val_bits").And.Contain("MonitorMode.Min"));
        var explicitMode = new EarlyStopping("val_bits", patience: 1, mode: MonitorMode.Min);
        explicitMode.OnTrainBegin(trainer);
        explicitMode.OnEpochEnd(1, Logs("val_bits", 2), trainer);
        Assert.That(explicitMode.OnEpochEnd(2, Logs("val_bits", 1.5), trainer), Is.False, "lower bits per char improve");
    }

    [Test]
    public void RestoreBestWeightsEndsTrainingWithTheBestEpochsWeights()
    {
        // The best epoch by "highest training loss" is the first (the loss falls while training),
        // so the model must end with the weights a 1-epoch run gives.
        float[] Train(int epochs, ICallback? callback)
        {
            using var data = Data(48, 2);
            using var model = Model();
            using var optimizer = new Sgd(model.Parameters(), learningRate: 0.5);
            var trainer = new Trainer(model, optimizer, new CrossEntropyLoss()) { Output = null };
            var history = trainer.Fit(data, epochs, batchSize: 8, callbacks: callback == null ? null : [callback], generator: new Generator(3));
            if (epochs > 1) Assert.That(history["loss"][^1], Is.LessThan(history["loss"][0]), "the loss fell");
            return model.Weight.ToArray<float>();
        }
        float[] afterOne = Train(1, null);
        float[] afterThree = Train(3, null);
        Assert.That(afterThree, Is.Not.EqualTo(afterOne));

        long before = Reference.SettledLiveBuffers();
        using var stop = new EarlyStopping("loss", patience: 10, mode: MonitorMode.Max, restoreBestWeights: true);
        Assert.That(Train(3, stop), Is.EqualTo(afterOne), "the weights of epoch 1 were put back");
        Assert.That(stop.BestEpoch, Is.EqualTo(1));
        Assert.That(Reference.SettledLiveBuffers(), Is.EqualTo(before), "the copy of the best weights was freed after restoring");
        Assert.That(Train(3, new EarlyStopping("loss", patience: 10, mode: MonitorMode.Max)), Is.EqualTo(afterThree), "without restoring, the last weights stay");
    }

    [Test]
    public void ModelCheckpointFillsThePathTemplate()
    {
        var logs = new Dictionary<string, double> { ["loss"] = 0.5, ["val_loss"] = 0.12345 };
        Assert.That(ModelCheckpoint.FormatPath("runs/m-{epoch:D2}-{val_loss:F2}.safetensors", 3, logs), Is.EqualTo("runs/m-03-0.12.safetensors"));
        Assert.That(ModelCheckpoint.FormatPath("best.safetensors", 3, logs), Is.EqualTo("best.safetensors"));
        var e = Assert.Throws<ArgumentException>(() => ModelCheckpoint.FormatPath("m-{val_acc}.safetensors", 1, logs));
        Assert.That(e!.Message, Does.Contain("{val_acc}").And.Contain("val_loss"));
        Assert.Throws<ArgumentException>(() => new ModelCheckpoint("m-{epoch.safetensors"));

        string dir = Path.Combine(Path.GetTempPath(), "tensorium-checkpoint-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var data = Data(32, 4);
            using var model = Model();
            using var optimizer = new Sgd(model.Parameters(), learningRate: 0.5);
            var trainer = new Trainer(model, optimizer, new CrossEntropyLoss()) { Output = null };
            var every = new ModelCheckpoint(Path.Combine(dir, "every", "e{epoch}-{loss:F3}.safetensors"), monitor: "loss", saveBestOnly: false);
            var best = new ModelCheckpoint(Path.Combine(dir, "best-{epoch}.safetensors"), monitor: "loss", mode: MonitorMode.Max);
            var history = trainer.Fit(data, epochs: 3, batchSize: 8, callbacks: [every, best], generator: new Generator(5));

            Assert.That(every.SavedPaths.Select(Path.GetFileName),
                Is.EqualTo(Enumerable.Range(1, 3).Select(i => $"e{i}-{history["loss"][i - 1].ToString("F3", System.Globalization.CultureInfo.InvariantCulture)}.safetensors")));
            Assert.That(every.SavedPaths.All(File.Exists));
            Assert.That(best.SavedPaths.Select(Path.GetFileName), Is.EqualTo(new[] { "best-1.safetensors" }), "only the highest loss, epoch 1, is 'best' in Max mode");
            using var reloaded = new Linear(4, 3);
            Checkpoint.LoadInto(every.SavedPaths[^1], reloaded);
            Assert.That(reloaded.Weight.ToArray<float>(), Is.EqualTo(model.Weight.ToArray<float>()), "the last file holds the last weights");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }
}
