using BenchmarkDotNet.Attributes;
using Tensorium.Kernels.Cpu;
using Tensorium.Profiling;

namespace Tensorium.Bench;

/// <summary>
/// What the profiler costs when it is off, next to what it costs when it is on.
/// </summary>
/// <remarks>
/// <para>When no profiler is open, every backend call pays one static check
/// (<see cref="Profiler.IsAnyOpen"/>, a volatile read in <c>Device.Backend</c>); there is no
/// build of the library without that check to race against, so the honest comparison measures
/// the check itself: <see cref="Checks"/> does as many checks as <see cref="ProfilerOff"/>'s
/// chain does (at most <see cref="ChecksPerOp"/> per op: the output's pool rent, the op, the
/// pool return, with one to spare), and its time over the chain's is the off-cost's share.
/// It is far below the run-to-run noise of <see cref="ProfilerOff"/> itself (its error column).</para>
/// <para>The chain is <see cref="Ops"/> small elementwise ops through the Tensor API on 64
/// floats, where fixed per-op costs weigh most. <see cref="ProfilerOn"/> runs the same chain
/// under a profiler opened for it (timing, shapes and a record per op).</para>
/// </remarks>
public class ProfilerOverheadBenchmarks
{
    /// <summary>Ops in the chain.</summary>
    public const int Ops = 32;

    /// <summary>The static checks one op makes at most (see the class remarks).</summary>
    public const int ChecksPerOp = 4;

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

    /// <summary>Only the off path's added work for one chain: <see cref="Ops"/> × <see cref="ChecksPerOp"/> checks.</summary>
    [Benchmark]
    public int Checks()
    {
        int open = 0;
        for (int i = 0; i < Ops * ChecksPerOp; i++)
            if (Profiler.IsAnyOpen) open++;
        return open;
    }
}
