using BenchmarkDotNet.Attributes;
using Tensorium.Kernels.Cpu;
using Tensorium.Profiling;

namespace Tensorium.Bench;

/// <summary>
/// What the profiler costs when it is on: a chain of small ops with no profiler open, and under a
/// profiler opened for it (timing, shapes and a record per op). What its hook costs when no profiler
/// is open is <see cref="ProfilerHookBenchmarks"/>'s to measure, in a process without the hook.
/// </summary>
/// <remarks>
/// The chain is <see cref="Ops"/> small elementwise ops through the Tensor API on 64 floats, where
/// fixed per-op costs weigh most.
/// </remarks>
public class ProfilerOverheadBenchmarks
{
    /// <summary>Ops in the chain.</summary>
    public const int Ops = 32;

    private Tensor _x = null!;

    /// <summary>The input and the thread count.</summary>
    [GlobalSetup]
    public void Setup()
    {
        CpuParallel.Threads = BenchSettings.Threads;
        _x = Tensor.Uniform([64], 0.5, 1.5, new Generator(1));
    }

    /// <summary>Frees the input.</summary>
    [GlobalCleanup]
    public void Cleanup() => _x.Dispose();

    private void Chain()
    {
        using var scope = new TensorScope();
        var t = _x;
        for (int i = 0; i < Ops / 2; i++) t = t.Exp().Tanh();   // bounded: no overflow to infinity
    }

    /// <summary>The chain with no profiler open: the library as everyone runs it.</summary>
    [Benchmark(Baseline = true)]
    public void ProfilerOff() => Chain();

    /// <summary>The chain recorded by a profiler opened for it.</summary>
    [Benchmark]
    public void ProfilerOn()
    {
        using (Profiler.Start()) Chain();
    }
}
