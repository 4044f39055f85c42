using Tensorium.Kernels.Cpu;

namespace Tensorium.Tests.Support;

/// <summary>
/// Sets <see cref="CpuParallel.Threads"/> for a block (<c>using var _ = CpuThreads.Use(1);</c>) and
/// restores the previous count on Dispose, so a test that forces a thread count leaves none behind.
/// </summary>
public sealed class CpuThreads : IDisposable
{
    private readonly int _saved = CpuParallel.Threads;

    private CpuThreads(int threads) => CpuParallel.Threads = threads;

    /// <summary>Uses <paramref name="threads"/> threads until the returned object is disposed.</summary>
    public static CpuThreads Use(int threads) => new(threads);

    /// <summary>Restores the thread count seen when this was created.</summary>
    public void Dispose() => CpuParallel.Threads = _saved;
}
