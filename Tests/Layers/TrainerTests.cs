using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>The whole stack learns: a tiny end-to-end training run, the training loop's bookkeeping, and its memory.</summary>
[NonParallelizable]
public class TrainerTests
{
    /// <summary>Two Gaussian blobs per class in 2-d, well separated: any working stack fits them.</summary>
    private static TensorDataset Blobs(int count, ulong seed)
    {
        var g = new Generator(seed);
        using var noise = Tensor.Normal([count, 2], 0, 0.3, g);
        var labels = Enumerable.Range(0, count).Select(i => (long)(i % 3)).ToArray();
        var centres = labels.SelectMany(l => new[] { (float)Math.Cos(2 * Math.PI * l / 3) * 2, (float)Math.Sin(2 * Math.PI * l / 3) * 2 }).ToArray();
        using var c = Tensor.FromArray(centres, count, 2);
        return new TensorDataset(c + noise, Tensor.FromArray(labels));
    }

    private static Sequential Model() =>
        new(new Linear(2, 16, generator: new Generator(1)), new ReLU(), new Linear(16, 3, generator: new Generator(2)));

    [Test]
    public void TinyEndToEndRunLearns()
    {
        using var train = Blobs(384, 10);
        using var test = Blobs(96, 11);
        using var model = Model();
        using var optimizer = new Adam(model.Parameters(), learningRate: 0.02);
        var trainer = new Trainer(model, optimizer, (p, y) => p.CrossEntropy(y), [new Accuracy()]) { Output = null };
        var history = trainer.Fit(train, epochs: 8, batchSize: 32, validation: test, generator: new Generator(3));
        Assert.That(history.Epochs, Has.Count.EqualTo(8));
        Assert.That(history["loss"][^1], Is.LessThan(0.15), "training loss after 8 epochs");
        Assert.That(history["loss"][^1], Is.LessThan(history["loss"][0] / 3), "the loss fell");
        var result = trainer.Evaluate(test);
        Assert.That(result["accuracy"], Is.GreaterThan(0.95));
        Assert.That(result["loss"], Is.EqualTo(history["val_loss"][^1]).Within(1e-9), "Evaluate agrees with the last validation");
        using var predictions = trainer.Predict(test);
        Assert.That(predictions.Shape, Is.EqualTo(new[] { 96, 3 }));
    }

    [Test]
    public void LiveBuffersDoNotGrowFromEpochToEpoch()
    {
        Reference.SettledLiveBuffers();
        using var train = Blobs(256, 20);
        using var model = Model();
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0.1, momentum: 0.9);
        var perEpoch = new List<long>();
        var trainer = new Trainer(model, optimizer, (p, y) => p.CrossEntropy(y), [new Accuracy()]) { Output = null };
        var recorder = new RecordingCallback(() => perEpoch.Add(Device.Cpu.Pool.LiveBuffers));
        trainer.Fit(train, epochs: 5, batchSize: 32, callbacks: [recorder], generator: new Generator(4));
        Assert.That(perEpoch.Distinct().Count(), Is.EqualTo(1), $"live buffers per epoch: {string.Join(", ", perEpoch)}");
    }

    [Test]
    public void EarlyStoppingStopsWhenTheMonitorStallsAndHistoryIsWritten()
    {
        using var train = Blobs(64, 30);
        using var model = Model();
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0);   // nothing changes: the loss stalls
        var trainer = new Trainer(model, optimizer, (p, y) => p.CrossEntropy(y)) { Output = null };
        var stop = new EarlyStopping("loss", patience: 2);
        var history = trainer.Fit(train, epochs: 10, batchSize: 16, shuffle: false, callbacks: [stop]);
        Assert.That(history.Epochs, Has.Count.EqualTo(3), "epoch 1 sets the best, 2 and 3 do not improve");
        Assert.That(stop.StoppedEpoch, Is.EqualTo(3));

        string dir = Path.Combine(Path.GetTempPath(), "tensorium-trainer-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            history.WriteCsv(Path.Combine(dir, "h.csv"));
            history.WriteSvg(Path.Combine(dir, "h.svg"));
            var lines = File.ReadAllLines(Path.Combine(dir, "h.csv"));
            Assert.That(lines[0], Is.EqualTo("epoch,loss,seconds"));
            Assert.That(lines, Has.Length.EqualTo(4));
            Assert.That(File.ReadAllText(Path.Combine(dir, "h.svg")), Does.StartWith("<svg").And.Contain("polyline"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void ProgressBarPrintsStepsLossAndThroughput()
    {
        using var train = Blobs(64, 40);
        using var model = Model();
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0.1);
        var output = new StringWriter();
        new Trainer(model, optimizer, (p, y) => p.CrossEntropy(y), [new Accuracy()]) { Output = output }.Fit(train, 1, 16);
        string text = output.ToString();
        Assert.That(text, Does.Contain("Epoch 1/1").And.Contain("4/4").And.Contain("loss").And.Contain("accuracy").And.Contain("samples/s"));
    }

    [Test]
    public void AccuracyCountsArgmaxHits()
    {
        var accuracy = new Accuracy();
        using var logits = Tensor.FromArray(new float[] { 0.1f, 0.9f, 0.8f, 0.2f, 0.3f, 0.7f }, 3, 2);
        using var labels = Tensor.FromArray(new long[] { 1, 1, 1 });
        accuracy.Update(logits, labels);
        Assert.That(accuracy.Result, Is.EqualTo(2.0 / 3).Within(1e-12));
        accuracy.Reset();
        Assert.That(accuracy.Result, Is.EqualTo(0));
    }

    [Test]
    public void FitRejectsNonPositiveEpochs()
    {
        using var train = Blobs(8, 50);
        using var model = Model();
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0.1);
        var e = Assert.Throws<ArgumentException>(() => new Trainer(model, optimizer, (p, y) => p.CrossEntropy(y)).Fit(train, 0, 4));
        Assert.That(e!.Message, Does.Contain("Fit").And.Contain("epochs"));
    }

    private sealed class RecordingCallback(Action record) : ICallback
    {
        public bool OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, Trainer trainer)
        {
            record();
            return false;
        }
    }
}
