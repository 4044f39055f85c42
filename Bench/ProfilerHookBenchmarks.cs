using BenchmarkDotNet.Attributes;
using Tensorium.Profiling;

namespace Tensorium.Bench;

/// <summary>
/// What the profiler's hook costs a program that never profiles: the same chain of small ops
/// (<see cref="ProfilerOverheadBenchmarks"/>'s) with the hook as everyone runs it, and with it gone
/// (<c>TENSORIUM_PROFILER=off</c>: <see cref="Profiler.IsSupported"/> is false and the JIT folds the
/// check away). The goal is that the two means differ by less than their error columns.
/// </summary>
/// <remarks>
/// BenchmarkDotNet runs each value of <see cref="Hook"/> in a process of its own, and the switch is
/// read once, when the profiler is first touched: in <see cref="Setup"/>, which sets it first. (A
/// job's environment variables would not do: the bench's default job replaces their list.)
/// </remarks>
public class ProfilerHookBenchmarks
{
    private readonly ProfilerOverheadBenchmarks _chain = new();

    /// <summary>Whether this process keeps the profiler's hook.</summary>
    [Params(true, false)]
    public bool Hook { get; set; }

    /// <summary>Sets the switch before anything touches the profiler, then makes the chain's input.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Environment.SetEnvironmentVariable(Profiler.SwitchVariable, Hook ? null : "off");
        if (Profiler.IsSupported != Hook)
            throw new InvalidOperationException("ProfilerHookBenchmarks: the profiler was touched before this case's setup, so its switch is already read " +
                "(an in-process run, --quick, runs both cases in one process); run it in child processes.");
        _chain.Setup();
    }

    /// <summary>Frees the input.</summary>
    [GlobalCleanup]
    public void Cleanup() => _chain.Cleanup();

    /// <summary>The chain, no profiler open.</summary>
    [Benchmark]
    public void Chain() => _chain.ProfilerOff();
}
