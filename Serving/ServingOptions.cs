namespace Tensorium.Serving;

/// <summary>How the serving host runs: where the models are, where it listens, how it batches and what it accepts.</summary>
public sealed record ServingOptions
{
    /// <summary>The folder of <c>NAME.json</c> + <c>NAME.safetensors</c> pairs to serve (watched for changes).</summary>
    public string ModelsDirectory { get; init; } = "artifacts/examples";

    /// <summary>The TCP port; 0 picks a free one (tests).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Listen on the loopback interface only (tests, benchmarks) instead of every interface.</summary>
    public bool LoopbackOnly { get; init; }

    /// <summary>The most examples run in one forward pass; also the most one request may send.</summary>
    public int MaxBatchSize { get; init; } = 64;

    /// <summary>How long the first request of a batch waits for others to join it.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>The most requests waiting per model (queued or gathering); one more is answered 503 with Retry-After.</summary>
    public int QueueCapacity { get; init; } = 1024;

    /// <summary>The largest request body accepted, in bytes; a larger one is answered 413.</summary>
    public long MaxBodyBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>The most characters one generate request may ask for.</summary>
    public int MaxGeneratedTokens { get; init; } = 2000;

    /// <summary>
    /// The most generate requests running at once per model; one more is answered 503 with
    /// Retry-After at once (each generation holds a core for as long as it streams).
    /// </summary>
    public int MaxConcurrentGenerations { get; init; } = 4;

    /// <summary>Watch the models folder and swap in models whose files change.</summary>
    public bool HotReload { get; init; } = true;

    /// <summary>How long to wait after a file change for the rest of a save (weights, then card) before reloading.</summary>
    public TimeSpan ReloadDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new ArgumentException($"--port: got {Port}; expected 0..65535.");
        if (MaxBatchSize < 1) throw new ArgumentException($"--max-batch: got {MaxBatchSize}; expected 1 or more.");
        if (MaxDelay < TimeSpan.Zero) throw new ArgumentException($"--max-delay-ms: got {MaxDelay.TotalMilliseconds}; expected 0 or more.");
        if (QueueCapacity < 1) throw new ArgumentException($"--queue: got {QueueCapacity}; expected 1 or more.");
        if (MaxGeneratedTokens < 0) throw new ArgumentException($"MaxGeneratedTokens: got {MaxGeneratedTokens}; expected 0 or more.");
        if (MaxConcurrentGenerations < 1) throw new ArgumentException($"--max-generations: got {MaxConcurrentGenerations}; expected 1 or more.");
        if (MaxBodyBytes < 1024) throw new ArgumentException($"--max-body: got {MaxBodyBytes} bytes; expected at least 1024.");
    }

    /// <summary>Parses the command line (--models DIR, --port N, --max-batch N, --max-delay-ms N, --queue N, --max-generations N, --max-body BYTES, --no-reload).</summary>
    /// <exception cref="ArgumentException">An unknown option, a missing or malformed value; the message says what is expected.</exception>
    public static ServingOptions Parse(string[] args)
    {
        var o = new ServingOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string option = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option {option} needs a value: got none; expected one after it");
            int Int() => int.TryParse(Value(), out int v) ? v : throw new ArgumentException($"option {option}: got '{args[i]}'; expected an integer");
            o = option switch
            {
                "--models" => o with { ModelsDirectory = Value() },
                "--port" => o with { Port = Int() },
                "--max-batch" => o with { MaxBatchSize = Int() },
                "--max-delay-ms" => o with { MaxDelay = TimeSpan.FromMilliseconds(Int()) },
                "--queue" => o with { QueueCapacity = Int() },
                "--max-generations" => o with { MaxConcurrentGenerations = Int() },
                "--max-body" => o with { MaxBodyBytes = Int() },
                "--no-reload" => o with { HotReload = false },
                _ => throw new ArgumentException($"unknown option {option} (known: --models DIR, --port N, --max-batch N, --max-delay-ms N, --queue N, --max-generations N, --max-body BYTES, --no-reload)"),
            };
        }
        o.Validate();
        return o;
    }
}
