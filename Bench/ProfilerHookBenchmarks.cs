using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Tensorium.Profiling;

namespace Tensorium.Bench;

/// <summary>
/// What the profiler's hook costs a program that never profiles: the same chain of small ops
/// (<see cref="ProfilerOverheadBenchmarks"/>'s) timed in two processes, one with the hook as
/// everyone runs it, one with it gone (<c>TENSORIUM_PROFILER=off</c>: <see cref="Profiler.IsSupported"/>
/// is false and the JIT folds the check away). The ratio column is the hook's cost; the goal is
/// that it sits within the error columns (run-to-run noise).
/// </summary>
/// <remarks>Needs BenchmarkDotNet's child processes: with <c>--quick</c> (in process) both jobs would run in one setting, so it refuses.</remarks>
[Config(typeof(HookJobs))]
public class ProfilerHookBenchmarks
{
    private const string WithoutHook = "without-hook";
    private readonly ProfilerOverheadBenchmarks _chain = new();

    /// <summary>The two processes: without the hook (the baseline) and with it.</summary>
    private sealed class HookJobs : ManualConfig
    {
        public HookJobs()
        {
            AddJob(BenchSettings.Job.WithEnvironmentVariable(Profiler.SwitchVariable, "off").WithId(WithoutHook).AsBaseline());
            AddJob(BenchSettings.Job.WithId("with-hook"));
        }
    }

    /// <summary>The chain's input; checks that this process runs the setting its job names.</summary>
    [GlobalSetup]
    public void Setup()
    {
        bool wantHook = Environment.GetEnvironmentVariable(Profiler.SwitchVariable) != "off";
        if (Profiler.IsSupported != wantHook)
            throw new InvalidOperationException($"ProfilerHookBenchmarks: this process should run {(wantHook ? "with" : "without")} the hook; run it in child processes (not --quick).");
        _chain.Setup();
    }

    /// <summary>Frees the input.</summary>
    [GlobalCleanup]
    public void Cleanup() => _chain.Cleanup();

    /// <summary>The chain, no profiler open.</summary>
    [Benchmark]
    public void Chain() => _chain.ProfilerOff();
}
