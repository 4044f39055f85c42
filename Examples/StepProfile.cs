using Tensorium.Profiling;

/// <summary>
/// --profile: profiles training steps <see cref="First"/> to <see cref="Last"/> (after the first
/// steps have warmed up the JIT and the buffer pool), then prints the op table and writes it,
/// with a Chrome trace (open it in ui.perfetto.dev or chrome://tracing) and a bar chart of the
/// slowest ops, into the run folder as {name}-profile.txt, {name}-profile.trace.json and
/// {name}-profile.svg.
/// </summary>
/// <remarks>
/// A profile holds training steps only. The examples validate (or decode) after an epoch's last
/// step, so the profile also ends there when an epoch ends inside the window (small data, --limit,
/// --steps): it then covers fewer steps, and its title says which. It opens after a step, so it
/// never opens after an epoch's last step either (the validation would come next): with two
/// steps an epoch it covers step 4 alone, with one step an epoch nothing.
/// </remarks>
sealed class StepProfile(ExampleOptions options, string name, int stepsPerEpoch)
{
    /// <summary>The first and last profiled step (1-based), unless an epoch ends in between.</summary>
    public const int First = 3, Last = 7;

    private Profiler? _profiler;
    private int _first, _steps;   // the first profiled step and how many were profiled

    /// <summary>
    /// A profile for the example <paramref name="name"/>, or null without --profile.
    /// <paramref name="stepsPerEpoch"/> is the optimizer steps between two validations (a Trainer's
    /// batches per epoch): the profile ends with an epoch, before its validation.
    /// </summary>
    public static StepProfile? For(ExampleOptions options, string name, int stepsPerEpoch) =>
        options.Profile ? new StepProfile(options, name, stepsPerEpoch) : null;

    /// <summary>
    /// Call after each optimizer step with its 1-based number (a Trainer's OnStep): opens the
    /// profiler for the next step from step <see cref="First"/> on, reports after step
    /// <see cref="Last"/> or after an epoch's last step, whichever comes first.
    /// </summary>
    public void AfterStep(int step)
    {
        bool endsEpoch = step % stepsPerEpoch == 0;   // validation runs next: it must not be profiled
        if (_profiler == null)
        {
            if (step >= First - 1 && step < Last && !endsEpoch)
            {
                _profiler = Profiler.Start();
                _first = step + 1;
            }
        }
        else if (_profiler.IsRecording)
        {
            _steps++;
            if (step == Last || endsEpoch) Finish();
        }
    }

    /// <summary>
    /// Call after training: reports what was profiled if the profiler is still open (a loop that
    /// stopped early), or says that no step was.
    /// </summary>
    public void Finish()
    {
        if (_profiler is { IsRecording: false }) return;   // reported already
        _profiler?.Dispose();
        if (_steps == 0)
        {
            Console.WriteLine($"profile: no training step profiled (the profile covers steps {First}-{Last} but never a validation, and opens after a step: it needs an epoch with a step from {First} to {Last} that is not the epoch's first)");
            return;
        }
        var profiler = _profiler!;
        var run = options.Run(name);
        string steps = _steps == 1 ? $"training step {_first}" : $"training steps {_first}-{_first + _steps - 1}";
        string table = $"{name}: {steps} on {options.Device}\n{profiler.Table()}";
        Console.WriteLine();
        Console.WriteLine(table);
        File.WriteAllText(run.InRun($"{name}-profile.txt"), table);
        profiler.WriteChromeTrace(run.InRun($"{name}-profile.trace.json"));
        profiler.WriteChart(run.InRun($"{name}-profile.svg"), $"{name}: {steps} on {options.Device}, slowest ops");
        Console.WriteLine($"profile: wrote {name}-profile.txt, {name}-profile.trace.json and {name}-profile.svg to {run.Folder}");
    }
}
