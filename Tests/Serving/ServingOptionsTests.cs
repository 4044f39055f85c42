using Tensorium.Serving;

namespace Tensorium.Tests.Serving;

/// <summary>The serve command line: defaults as the issue asks, mistakes named (issue 14).</summary>
public class ServingOptionsTests
{
    [Test]
    public void DefaultsServeTheExamplesFolderOnPort8080()
    {
        var o = ServingOptions.Parse([]);
        Assert.That(o.ModelsDirectory, Is.EqualTo("artifacts/examples"));
        Assert.That(o.Port, Is.EqualTo(8080));
        Assert.That(o.HotReload, Is.True);
    }

    [Test]
    public void OptionsAreRead()
    {
        var o = ServingOptions.Parse(["--models", "/srv/models", "--port", "9000", "--max-batch", "32", "--max-delay-ms", "10", "--queue", "7", "--max-generations", "2", "--max-body", "2048", "--no-reload"]);
        Assert.That((o.ModelsDirectory, o.Port, o.MaxBatchSize, o.MaxDelay, o.QueueCapacity, o.MaxConcurrentGenerations, o.MaxBodyBytes, o.HotReload),
            Is.EqualTo(("/srv/models", 9000, 32, TimeSpan.FromMilliseconds(10), 7, 2, 2048L, false)));
    }

    [Test]
    public void MistakesSayWhatIsExpected()
    {
        Assert.That(() => ServingOptions.Parse(["--prot", "1"]), Throws.ArgumentException.With.Message.Contains("unknown option --prot").And.Message.Contains("--port N"));
        Assert.That(() => ServingOptions.Parse(["--port"]), Throws.ArgumentException.With.Message.Contains("needs a value"));
        Assert.That(() => ServingOptions.Parse(["--port", "eighty"]), Throws.ArgumentException.With.Message.Contains("got 'eighty'; expected an integer"));
        Assert.That(() => ServingOptions.Parse(["--port", "70000"]), Throws.ArgumentException.With.Message.Contains("--port: got 70000; expected 0..65535"));
        Assert.That(() => ServingOptions.Parse(["--max-batch", "0"]), Throws.ArgumentException.With.Message.Contains("--max-batch: got 0; expected 1 or more"));
        Assert.That(() => ServingOptions.Parse(["--max-generations", "0"]), Throws.ArgumentException.With.Message.Contains("--max-generations: got 0; expected 1 or more"));
        Assert.That(() => ServingOptions.Parse(["--max-body", "10"]), Throws.ArgumentException.With.Message.Contains("--max-body: got 10 bytes; expected at least 1024"));
    }

    [Test]
    public void ANegativeGenerationLimitIsRefused() =>
        // It passed, and every generate request was then refused (its default max_tokens included).
        Assert.That(() => new ServingOptions { MaxGeneratedTokens = -1 }.Validate(), Throws.ArgumentException.With.Message.Contains("MaxGeneratedTokens: got -1; expected 0 or more"));
}
