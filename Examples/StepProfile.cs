using Tensorium.Profiling;

/// <summary>
/// --profile: profiles training steps <see cref="First"/> to <see cref="Last"/> (after the first
/// steps have warmed up the JIT and the buffer pool), then prints the op table and writes it,
/// with a Chrome trace (open it in ui.perfetto.dev or chrome://tracing) and a bar chart of the
/// slowest ops, into the run folder as {name}-profile.txt, {name}-profile.trace.json and
/// {name}-profile.svg.
/// </summary>
sealed class StepProfile(ExampleOptions options, string name)
{
    /// <summary>The first and last profiled step (1-based).</summary>
    public const int First = 3, Last = 7;

    private Profiler? _profiler;
    private int _steps;

    /// <summary>A profile for the example <paramref name="name"/>, or null without --profile.</summary>
    public static StepProfile? For(ExampleOptions options, string name) => options.Profile ? new StepProfile(options, name) : null;

    /// <summary>Call after each optimizer step with its 1-based number: opens the profiler before step <see cref="First"/>, reports after step <see cref="Last"/>.</summary>
    public void AfterStep(int step)
    {
        if (step == First - 1) _profiler = Profiler.Start();
        else if (_profiler != null && step >= First) _steps++;
        if (step == Last) Finish();
    }

    /// <summary>Reports what was profiled if the profiler is still open (training ended before step <see cref="Last"/>).</summary>
    public void Finish()
    {
        if (_profiler is not { IsRecording: true } profiler) return;
        profiler.Dispose();
        var run = options.Run(name);
        string table = $"{name}: training steps {First}-{First + _steps - 1} on {options.Device}\n{profiler.Table()}";
        Console.WriteLine();
        Console.WriteLine(table);
        File.WriteAllText(run.InRun($"{name}-profile.txt"), table);
        profiler.WriteChromeTrace(run.InRun($"{name}-profile.trace.json"));
        profiler.WriteChart(run.InRun($"{name}-profile.svg"), $"{name}: training steps {First}-{First + _steps - 1} on {options.Device}, slowest ops");
        Console.WriteLine($"profile: wrote {name}-profile.txt, {name}-profile.trace.json and {name}-profile.svg to {run.Folder}");
    }
}
