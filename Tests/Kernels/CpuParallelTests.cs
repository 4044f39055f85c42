using Tensorium.Kernels.Cpu;

namespace Tensorium.Tests.Kernels;

/// <summary>CpuParallel.For on its worker pool: every index once, errors as thrown, nesting and concurrent callers.</summary>
[NonParallelizable]
public class CpuParallelTests
{
    private CpuThreads? _threads;

    [SetUp]
    public void UseTwoThreads() => _threads = CpuThreads.Use(2);

    [TearDown]
    public void RestoreThreads() => _threads?.Dispose();

    [TestCase(2)]
    [TestCase(7)]
    [TestCase(1000)]
    [TestCase(100_003)]
    public void EveryIndexRunsExactlyOnce(int count)
    {
        var runs = new int[count];
        CpuParallel.For(count, i => Interlocked.Increment(ref runs[i]));
        Assert.That(runs, Is.All.EqualTo(1));
    }

    [Test]
    public void WorkersThatSleepAtOnceStillRunEveryIndex()
    {
        // WorkerSpin zero (a server's setting): each loop wakes the sleeping workers; no index may be lost.
        var spin = CpuParallel.WorkerSpin;
        try
        {
            CpuParallel.WorkerSpin = TimeSpan.Zero;
            Assert.That(CpuParallel.WorkerSpin, Is.EqualTo(TimeSpan.Zero));
            for (int loop = 0; loop < 200; loop++)
            {
                var runs = new int[64];
                CpuParallel.For(64, i => Interlocked.Increment(ref runs[i]));
                Assert.That(runs, Is.All.EqualTo(1));
            }
            Assert.Throws<ArgumentOutOfRangeException>(() => CpuParallel.WorkerSpin = TimeSpan.FromTicks(-1));
        }
        finally
        {
            CpuParallel.WorkerSpin = spin;
        }
        Assert.That(CpuParallel.WorkerSpin.TotalMicroseconds, Is.EqualTo(spin.TotalMicroseconds).Within(1));
    }

    [Test]
    public void TwoWaySplitRunsOnTwoThreadsAtOnce()
    {
        // Each half waits for the other to start: run one after the other, the first would time out.
        using var bothStarted = new CountdownEvent(2);
        var met = new bool[2];
        CpuParallel.For(2, i =>
        {
            bothStarted.Signal();
            met[i] = bothStarted.Wait(TimeSpan.FromSeconds(10));
        });
        Assert.That(met, Is.All.True);
    }

    [Test]
    public void ABodysExceptionSurfacesAsThrownAndThePoolCarriesOn()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            CpuParallel.For(64, i => { if (i == 37) throw new ArgumentException("gather: index 37 is out of range"); }));
        Assert.That(e!.Message, Does.Contain("index 37"));
        EveryIndexRunsExactlyOnce(1000);
    }

    [Test]
    public void AfterABodyThrowsTheOtherThreadsStopRatherThanRunTheRest()
    {
        int ran = 0;
        Assert.Throws<InvalidOperationException>(() => CpuParallel.For(100_000, i =>
        {
            Interlocked.Increment(ref ran);
            throw new InvalidOperationException($"body {i} failed");
        }, workPerItem: 1000));
        // Each thread stops at its next index once one has thrown (every body running, and
        // throwing, was 100,000 calls).
        Assert.That(ran, Is.LessThan(100), $"{ran} bodies ran after the first failure");
    }

    [Test]
    public void NestedLoopsComplete()
    {
        var runs = new int[16 * 16];
        CpuParallel.For(16, i => CpuParallel.For(16, j => Interlocked.Increment(ref runs[i * 16 + j])));
        Assert.That(runs, Is.All.EqualTo(1));
    }

    [Test]
    public void LoopsFromTwoThreadsAtOnceBothComplete()
    {
        var a = new int[50_000];
        var b = new int[50_000];
        var other = Task.Run(() =>
        {
            for (int r = 0; r < 20; r++) CpuParallel.For(b.Length, i => Interlocked.Increment(ref b[i]));
        });
        for (int r = 0; r < 20; r++) CpuParallel.For(a.Length, i => Interlocked.Increment(ref a[i]));
        Assert.That(other.Wait(TimeSpan.FromSeconds(60)), Is.True, "the other thread's loops finished");
        Assert.That(a, Is.All.EqualTo(20));
        Assert.That(b, Is.All.EqualTo(20));
    }
}
