using Tensorium.Layers;

namespace Tensorium.Tests.Layers;

/// <summary>The progress bar: redrawn in place on a terminal, a line per tenth when redirected, no ETA from the warm-up.</summary>
public class ProgressBarTests
{
    private static readonly Dictionary<string, double> Loss = new() { ["loss"] = 0.5 };

    private static string Run(int steps, bool? terminal)
    {
        var output = new StringWriter();
        var bar = new ProgressBar("Epoch 1/1", steps, output, terminal);
        for (int step = 1; step <= steps; step++) bar.Update(step, step * 32L, Loss);
        return output.ToString();
    }

    [Test]
    public void FirstStepsShowNoEtaTakenFromTheWarmUp()
    {
        var output = new StringWriter();
        var bar = new ProgressBar("Epoch 1/1", 100, output);
        bar.Update(1, 32, Loss);   // the first step includes JIT compilation: its time says nothing about the rest
        bar.Update(2, 64, Loss);
        Assert.That(output.ToString(), Does.Contain("1/100").And.Not.Contain("ETA"));
        bar.Update(10, 320, Loss);
        Assert.That(output.ToString(), Does.Contain("10/100").And.Contain("ETA"), "the ETA appears once the warm-up is past");
    }

    [Test]
    public void OnATerminalOneLineIsRedrawnInPlace()
    {
        string text = Run(1000, terminal: true);
        Assert.That(text, Does.StartWith("\rEpoch 1/1 [").And.EndWith("\n"));
        Assert.That(text.Count(c => c == '\n'), Is.EqualTo(1), "one line per epoch, ended once the epoch is done");
        int redraws = text.Count(c => c == '\r');
        Assert.That(redraws, Is.InRange(10, 250), "redrawn often enough to look live, not on every one of 1000 steps");
        Assert.That(text, Does.Contain("1000/1000"));
    }

    [Test]
    public void RedirectedOutputGetsALineEveryTenth()
    {
        string text = Run(1000, terminal: false);
        Assert.That(text, Does.Not.Contain("\r"));
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(11), "step 1, then every 100 steps");
        Assert.That(lines[^1], Does.Contain("1000/1000"));
    }

    [Test]
    public void AWriterOtherThanTheConsoleIsNotATerminal()
    {
        // What Trainer does with Output = a StringWriter: plain lines, as in a log.
        Assert.That(Run(20, terminal: null), Does.Not.Contain("\r"));
    }
}
