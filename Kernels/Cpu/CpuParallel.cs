namespace Tensorium.Kernels.Cpu;

/// <summary>
/// How many threads CPU kernels may use, and a parallel-for that stays on the calling
/// thread when the work is too small to be worth the hand-off, and otherwise shares it with
/// persistent worker threads (<see cref="WorkerPool"/>).
/// </summary>
public static class CpuParallel
{
    private static int _threads = Environment.ProcessorCount;

    /// <summary>Maximum number of threads a kernel uses (default: all logical processors).</summary>
    public static int Threads
    {
        get => _threads;
        set => _threads = value >= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "CpuParallel.Threads: expected at least 1 thread.");
    }

    /// <summary>
    /// How long an idle worker thread spins after a parallel loop, waiting for the next, before it
    /// sleeps (default 0.5 ms). Kernels run back to back in a training step, and a spinning worker
    /// takes the next loop at once; a server whose cores also run the HTTP requests between
    /// forward passes may want it shorter (zero: workers sleep at once), so the spin does not
    /// take the CPU those requests need.
    /// </summary>
    public static TimeSpan WorkerSpin
    {
        get => TimeSpan.FromSeconds((double)Volatile.Read(ref WorkerPool.SpinTicks) / System.Diagnostics.Stopwatch.Frequency);
        set => Volatile.Write(ref WorkerPool.SpinTicks, value >= TimeSpan.Zero
            ? (long)(value.TotalSeconds * System.Diagnostics.Stopwatch.Frequency)
            : throw new ArgumentOutOfRangeException(nameof(value), value, "CpuParallel.WorkerSpin: expected zero or more."));
    }

    /// <summary>
    /// Runs <paramref name="body"/> for every index in [0, count). Runs inline when
    /// <paramref name="count"/> is 1, one thread is allowed, or <paramref name="workPerItem"/>
    /// times count is below about a hundred thousand operations.
    /// </summary>
    public static void For(int count, Action<int> body, long workPerItem = long.MaxValue) => ForOnThreads(_threads, count, body, workPerItem);

    /// <summary>
    /// <see cref="For"/> on at most <paramref name="threads"/> threads
    /// instead of <see cref="Threads"/>: for a caller that needs a given width (measuring a
    /// machine's roofs) without changing the process-wide setting every other kernel reads.
    /// </summary>
    public static void ForOnThreads(int threads, int count, Action<int> body, long workPerItem = long.MaxValue)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "CpuParallel.ForOnThreads: expected at least 1 thread.");
        if (count <= 0) return;
        // In double: the default workPerItem (long.MaxValue) times count would wrap to a negative long.
        if (count == 1 || threads == 1 || (double)workPerItem * count < 100_000)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        if (WorkerPool.TryRun(count, body, threads)) return;
        // The pool is running another loop (this call comes from another thread, or from inside a
        // loop body): share the work through the .NET thread pool instead.
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // Rethrow what the body threw (e.g. "gather: index 7 is out of range"): callers must see
            // the same exception type whether the work ran inline or on several threads.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }

    /// <summary>
    /// Runs body(firstRow, endRow) over contiguous chunks of [0, rows), in parallel: about 4 chunks
    /// per thread, which balances load while keeping the per-chunk overhead small when rows are
    /// short. <paramref name="workPerRow"/> is the estimate <see cref="For"/> uses to stay inline.
    /// </summary>
    public static void ForRows(int rows, long workPerRow, Action<int, int> body)
    {
        if (rows <= 0) return;
        int chunks = Math.Min(rows, _threads * 4);
        int per = (rows + chunks - 1) / chunks;
        chunks = (rows + per - 1) / per;
        For(chunks, c => body(c * per, Math.Min(rows, (c + 1) * per)), per * workPerRow);
    }
}
