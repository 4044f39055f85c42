namespace Tensorium.Tests.Engine;

/// <summary>
/// The buffer pool keeps freed buffers for reuse, but only up to a cap tied to the live peak:
/// a tensor that grows a little every step must not leave every old size class cached.
/// These read and set the CPU pool's global counters and limits, so they never run in parallel.
/// </summary>
[NonParallelizable]
public class PoolRetentionTests
{
    private const int MiB = 1 << 20;
    private static BufferPool Pool => Device.Cpu.Pool;

    [SetUp]
    public void StartFromAnEmptyPool()
    {
        Reference.SettledLiveBuffers();
        Pool.Empty();
        Pool.ResetPeak();
    }

    [TearDown]
    public void RestoreDefaults()
    {
        Pool.MaxPooledRatio = 2;
        Pool.MaxPooledBytes = null;
        Pool.MaxIdleOperations = 100_000;
    }

    [Test]
    public void GrowingTensorDoesNotHoardOldSizes()
    {
        // One tensor alive at a time, 1 MiB growing by 6% a step to 64 MiB: every size is a new
        // size class, and an unbounded pool ends up holding the sum of all of them (~1.1 GB).
        long peak = Pool.LiveBytes;
        for (double bytes = MiB; bytes <= 64 * MiB; bytes *= 1.06)
        {
            using (var t = Tensor.Zeros([(int)(bytes / 4)]))
                peak = Math.Max(peak, Pool.LiveBytes);
            Assert.That(Pool.PooledBytes, Is.LessThanOrEqualTo(2 * peak),
                $"pooled bytes after freeing a {bytes / MiB:F1} MiB tensor (live peak {peak} bytes)");
        }
        Assert.That(Pool.PeakLiveBytes, Is.EqualTo(peak));
        Assert.That(Pool.PooledLimit, Is.EqualTo(2 * peak));
    }

    [Test]
    public void AbsoluteLimitCapsThePool()
    {
        Pool.MaxPooledBytes = 3 * MiB;
        var tensors = Enumerable.Range(0, 8).Select(_ => Tensor.Zeros([MiB / 4])).ToList();
        tensors.ForEach(t => t.Dispose());
        Assert.That(Pool.PooledBytes, Is.EqualTo(3 * MiB), "8 MiB freed, 3 MiB kept");
        Pool.MaxPooledBytes = MiB;
        Assert.That(Pool.PooledBytes, Is.EqualTo(MiB), "lowering the limit gives the excess back at once");
    }

    [Test]
    public void LeastRecentlyUsedSizeClassGoesFirst()
    {
        Pool.MaxPooledBytes = 6 * MiB;
        Tensor.Zeros([MiB / 4]).Dispose();       // 1 MiB class
        Tensor.Zeros([2 * MiB / 4]).Dispose();   // 2 MiB class
        Tensor.Zeros([MiB / 4]).Dispose();       // 1 MiB again: now the 2 MiB class is the oldest
        Tensor.Zeros([4 * MiB / 4]).Dispose();   // 7 MiB pooled: over the limit
        Assert.That(Pool.PooledBytes, Is.EqualTo(5 * MiB), "the 2 MiB buffer went back to the allocator");
        using var reused = Tensor.Zeros([MiB / 4]);
        Assert.That(Pool.PooledBytes, Is.EqualTo(4 * MiB), "the 1 MiB buffer was kept and is reused");
    }

    [Test]
    public void SizeClassesUnusedForAWhileAreGivenBack()
    {
        Tensor.Zeros([MiB / 4]).Dispose();   // a 1 MiB buffer, under the cap, and then never that size again
        for (int i = 0; i < 60_000; i++)
            Tensor.Zeros([4]).Dispose();     // 120,000 pool operations on another size
        Assert.That(Pool.PooledBytes, Is.LessThan(MiB), "the idle 1 MiB class went back to the allocator");
    }

    [Test]
    public void RatioZeroKeepsNothingAndCountersStayHonest()
    {
        long live = Pool.LiveBytes, buffers = Pool.LiveBuffers;
        Pool.MaxPooledRatio = 0;
        using (var t = Tensor.Zeros([MiB / 4]))
        {
            Assert.That(Pool.LiveBytes, Is.EqualTo(live + MiB));
            Assert.That(Pool.LiveBuffers, Is.EqualTo(buffers + 1));
            Assert.That(Pool.PeakLiveBytes, Is.GreaterThanOrEqualTo(live + MiB));
        }
        Assert.That(Pool.PooledBytes, Is.EqualTo(0));
        Assert.That(Pool.LiveBytes, Is.EqualTo(live));
        Assert.That(Pool.LiveBuffers, Is.EqualTo(buffers));
        Pool.ResetPeak();
        Assert.That(Pool.PeakLiveBytes, Is.EqualTo(live));
    }

    [Test]
    public void InvalidLimitsAreRejectedAndChangeNothing()
    {
        var ratio = Assert.Throws<ArgumentOutOfRangeException>(() => Pool.MaxPooledRatio = -1)!;
        Assert.That(ratio.Message, Does.StartWith("cpu pool: got a MaxPooledRatio of -1; expected a finite number, 0 or more."));
        var bytes = Assert.Throws<ArgumentOutOfRangeException>(() => Pool.MaxPooledBytes = -5)!;
        Assert.That(bytes.Message, Does.StartWith("cpu pool: got a MaxPooledBytes of -5; expected 0 or more, or null for no limit."));
        Assert.That(Pool.MaxPooledRatio, Is.EqualTo(2));
        Assert.That(Pool.MaxPooledBytes, Is.Null);
        var idle = Assert.Throws<ArgumentOutOfRangeException>(() => Pool.MaxIdleOperations = -1)!;
        Assert.That(idle.Message, Does.StartWith("cpu pool: got a MaxIdleOperations of -1; expected 0 or more, or null to keep idle buffers."));
        Assert.That(Pool.MaxIdleOperations, Is.EqualTo(100_000));
    }

    [Test]
    public void IdleTrimmingCanBeTurnedOff()
    {
        Pool.MaxIdleOperations = null;
        Tensor.Zeros([MiB / 4]).Dispose();
        for (int i = 0; i < 60_000; i++)
            Tensor.Zeros([4]).Dispose();
        Assert.That(Pool.PooledBytes, Is.GreaterThanOrEqualTo(MiB), "the 1 MiB buffer is still pooled");
    }
}
