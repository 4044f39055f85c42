using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Models;

namespace Tensorium.Tests.Examples;

/// <summary>
/// The examples write every run to a folder of its own and replace the demo model only with a
/// better one, so a quick --limit run never overwrites it (issue 16).
/// </summary>
[NonParallelizable]   // swaps Console.Out
public class RunOutputsTests
{
    [Test]
    public void OnlyABetterRunReplacesTheDemoModel()
    {
        using var folder = QuietTempFolder.Create("runs");
        string dir = folder.Path;
        using var model = new Linear(2, 2, generator: new Generator(1));
        bool Save(double accuracy, params string[] args)
        {
            var run = new RunOutputs(ExampleOptions.Parse(["--out", dir, .. args]), "demo");
            Assert.That(File.Exists(run.InRun("demo.safetensors")), Is.False);
            var card = new ModelCard
            {
                Name = "demo", Architecture = "test", Input = InputSpec.Image(), Labels = ["a", "b"],
                Metrics = new() { ["test_accuracy"] = accuracy },
            };
            bool replaced = run.SaveModel(card, model, "test_accuracy", higherIsBetter: true);
            Assert.That(File.Exists(run.InRun("demo.safetensors")), "every run keeps its own model");
            return replaced;
        }
        string demo = Path.Combine(dir, "demo.safetensors");
        double Recorded() => ModelCard.Load(Path.Combine(dir, "demo.json")).Metrics["test_accuracy"];

        Assert.That(Save(0.80), Is.True, "no model yet");
        Assert.That(Save(0.50, "--limit", "100"), Is.False, "a worse quick run leaves the demo model");
        Assert.That(Recorded(), Is.EqualTo(0.8));
        Assert.That(Save(0.90, "--limit", "100"), Is.True, "a better run replaces it");
        Assert.That(Recorded(), Is.EqualTo(0.9));
        Assert.That(Directory.GetDirectories(Path.Combine(dir, "runs")), Has.Length.EqualTo(3), "three run folders");

        File.Delete(Path.Combine(dir, "demo.json"));   // a model from before scores were recorded
        Checkpoint.Save(demo, model);
        Assert.That(Save(0.10, "--limit", "100"), Is.False, "a --limit run does not replace a model of unknown score");
        Assert.That(Save(0.10), Is.True, "a run on the whole data set does");
    }
}
