using System.Text.Json;
using System.Xml.Linq;
using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Optim;

namespace Tensorium.Tests.Examples;

/// <summary>
/// An example's --profile: steps 3 to 7 of a training loop are profiled, and the run folder gets
/// the op table, a Chrome trace that Perfetto opens and the chart of the slowest ops. An epoch that
/// ends inside those steps ends the profile, before its validation runs.
/// </summary>
[NonParallelizable]   // a profiler records every thread's ops, and this swaps Console.Out
public class StepProfileTests
{
    [Test]
    public void ProfileWritesTheTableTheTraceAndTheChartOfStepsThreeToSeven()
    {
        using var folder = QuietTempFolder.Create("profile");
        var options = ExampleOptions.Parse(["--out", folder.Path, "--profile"]);
        var profile = StepProfile.For(options, "tiny", stepsPerEpoch: 9);
        Assert.That(profile, Is.Not.Null);
        using var layer = new Linear(8, 4, generator: new Generator(1));
        using var x = Tensor.Uniform([16, 8]);
        for (int step = 1; step <= 9; step++)
        {
            using (new TensorScope())
                layer.Forward(x).Tanh().Sum().Backward();
            profile!.AfterStep(step);
        }

        var run = options.Run("tiny");
        string table = File.ReadAllText(run.InRun("tiny-profile.txt"));
        Assert.That(table, Does.StartWith("tiny: training steps 3-7"));
        Assert.That(table, Does.Contain("MatMul"));

        using var trace = JsonDocument.Parse(File.ReadAllText(run.InRun("tiny-profile.trace.json")));
        var events = trace.RootElement.GetProperty("traceEvents").EnumerateArray().Where(e => e.GetProperty("ph").GetString() == "X").ToList();
        // Five steps, each with the same ops forward and backward: a multiple of five.
        Assert.That(events, Is.Not.Empty);
        Assert.That(events.Count % 5, Is.Zero);
        Assert.That(events.Select(e => e.GetProperty("name").GetString()), Does.Contain("Unary.Tanh"));

        var chart = XDocument.Parse(File.ReadAllText(run.InRun("tiny-profile.svg")));
        Assert.That(chart.Root!.Name.LocalName, Is.EqualTo("svg"));
        Assert.That(chart.Descendants().Count(e => (string?)e.Attribute("class") == "time"), Is.GreaterThan(0));
    }

    /// <summary>The profile's trace events ("X"), in the order they started.</summary>
    private static List<(string Name, string Category)> TraceOps(string path)
    {
        using var trace = JsonDocument.Parse(File.ReadAllText(path));
        return [.. trace.RootElement.GetProperty("traceEvents").EnumerateArray()
            .Where(e => e.GetProperty("ph").GetString() == "X")
            .OrderBy(e => e.GetProperty("ts").GetDouble())
            .Select(e => (e.GetProperty("name").GetString()!, e.GetProperty("cat").GetString()!))];
    }

    [Test]
    public void AnEpochThatEndsInsideTheWindowEndsTheProfileBeforeTheTrainersValidation()
    {
        // Four batches per epoch: the epoch ends after step 4, inside steps 3-7, and the Trainer
        // validates (three forward passes, no backward) before step 5.
        using var folder = QuietTempFolder.Create("profile");
        var options = ExampleOptions.Parse(["--out", folder.Path, "--profile"]);
        var train = new TensorDataset(Tensor.Normal([64, 8], 0, 1, new Generator(1)), Tensor.FromArray(Enumerable.Range(0, 64).Select(i => (long)(i % 4)).ToArray()));
        var validation = new TensorDataset(Tensor.Normal([48, 8], 0, 1, new Generator(2)), Tensor.FromArray(Enumerable.Range(0, 48).Select(i => (long)(i % 4)).ToArray()));
        var profile = StepProfile.For(options, "tiny", stepsPerEpoch: new DataLoader(train, 16).BatchCount);
        using var model = new Linear(8, 4, generator: new Generator(1));
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0.1);
        var trainer = new Trainer(model, optimizer, new CrossEntropyLoss()) { Output = null, OnStep = profile!.AfterStep };
        trainer.Fit(train, epochs: 2, batchSize: 16, shuffle: false, validation: validation);
        profile.Finish();

        var run = options.Run("tiny");
        Assert.That(File.ReadAllText(run.InRun("tiny-profile.txt")), Does.StartWith("tiny: training steps 3-4 on cpu"));
        // Each training step runs the layer's forward matmul once and updates its two
        // parameters; a validation batch would add a forward matmul and no update.
        var ops = TraceOps(run.InRun("tiny-profile.trace.json"));
        int forwardMatMuls = ops.Count(op => op.Name == "MatMul" && op.Category == "forward");
        int updates = ops.Count(op => op.Name.StartsWith("OptimizerStep."));
        Assert.That((forwardMatMuls, updates), Is.EqualTo((2, 4)), string.Join(", ", ops.Select(op => op.Name)));
    }

    [TestCase(2, "tiny: training step 4 on cpu")]   // steps 1-2 | 3-4: step 3 opens an epoch, so only 4 follows a step of its epoch
    [TestCase(1, null)]                             // every step is followed by a validation: nothing can be profiled
    public void ShortEpochsProfileTheStepsThatFollowAStepOfTheirEpoch(int stepsPerEpoch, string? title)
    {
        using var folder = QuietTempFolder.Create("profile");
        var options = ExampleOptions.Parse(["--out", folder.Path, "--profile"]);
        var profile = StepProfile.For(options, "tiny", stepsPerEpoch)!;
        using var layer = new Linear(8, 4, generator: new Generator(1));
        using var x = Tensor.Uniform([16, 8]);
        for (int step = 1; step <= 9; step++)
        {
            using (new TensorScope())
                layer.Forward(x).Tanh().Sum().Backward();
            profile.AfterStep(step);
        }
        profile.Finish();

        var run = options.Run("tiny");
        if (title == null)
            Assert.That(File.Exists(run.InRun("tiny-profile.txt")), Is.False);
        else
            Assert.That(File.ReadAllText(run.InRun("tiny-profile.txt")), Does.StartWith(title + "\n"));
    }

    [Test]
    public void TheSeq2SeqLoopEndsTheProfileBeforeGreedyDecoding()
    {
        // Four steps per epoch: the loop decodes the held-out strings (ArgMax, forward only)
        // after step 4, inside steps 3-7.
        using var folder = QuietTempFolder.Create("profile");
        int code = ExampleCommand.Run(["seq2seq", "--steps", "4", "--epochs", "2", "--profile", "--out", folder.Path]);
        Assert.That(code, Is.Zero);
        string table = File.ReadAllText(Directory.GetFiles(folder.Path, "seq2seq-profile.txt", SearchOption.AllDirectories).Single());
        Assert.That(table, Does.StartWith("seq2seq: training steps 3-4 on cpu"));
        var ops = TraceOps(Directory.GetFiles(folder.Path, "seq2seq-profile.trace.json", SearchOption.AllDirectories).Single());
        Assert.That(ops.Select(op => op.Name), Does.Not.Contain("ArgMax"), "greedy decoding ran while the profile was open");
    }
}
