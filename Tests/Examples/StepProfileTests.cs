using System.Text.Json;
using System.Xml.Linq;
using Tensorium.Layers;

namespace Tensorium.Tests.Examples;

/// <summary>
/// An example's --profile: steps 3 to 7 of a training loop are profiled, and the run folder gets
/// the op table, a Chrome trace that Perfetto opens and the chart of the slowest ops.
/// </summary>
[NonParallelizable]   // a profiler records every thread's ops, and this swaps Console.Out
public class StepProfileTests
{
    [Test]
    public void ProfileWritesTheTableTheTraceAndTheChartOfStepsThreeToSeven()
    {
        using var folder = QuietTempFolder.Create("profile");
        var options = ExampleOptions.Parse(["--out", folder.Path, "--profile"]);
        var profile = StepProfile.For(options, "tiny");
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
}
