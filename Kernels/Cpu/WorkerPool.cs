using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// The threads behind <see cref="CpuParallel.For"/>: persistent workers that stay awake for a
/// moment after each loop, as BLAS libraries' threads do. A parallel loop is handed to them
/// directly and every thread, the caller included, takes indices from one shared counter.
/// </summary>
/// <remarks>
/// Why not Parallel.For: its helpers come from the .NET thread pool, whose parked threads can take
/// longer to wake than a kernel takes to run. The calling thread then takes the next index itself,
/// and a two-way split of a GEMM ran serially about half the time (measured at 512^3 on 2 cores).
/// Kernels run back to back in a training step, so workers that spin for a few hundred
/// microseconds between loops pick up the next one at once; after that they sleep on a semaphore.
/// One loop runs on the pool at a time: a loop started while another runs (from another thread,
/// or nested inside a loop body) returns false and the caller falls back to Parallel.For.
/// </remarks>
internal static class WorkerPool
{
    /// <summary>How long an idle worker spins, waiting for the next loop, before it sleeps (<see cref="CpuParallel.WorkerSpin"/>).</summary>
    internal static long SpinTicks = Stopwatch.Frequency / 2000;   // 0.5 ms

    private static readonly object Gate = new();
    private static Worker[] _workers = [];
    private static int _busy;

    /// <summary>Runs body(i) for every i in [0, count) on up to <paramref name="threads"/> threads; false when the pool is busy.</summary>
    public static bool TryRun(int count, Action<int> body, int threads)
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0) return false;
        try
        {
            var loop = new Loop(count, body, threads);
            var workers = Workers(threads - 1);
            for (int w = 0; w < threads - 1 && w < count - 1; w++) workers[w].Start(loop);
            loop.Work();
            loop.WaitForHelpers();
            loop.RethrowFirstError();
            return true;
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>All workers, at least <paramref name="needed"/> of them (started on first use; the caller uses the first needed).</summary>
    private static Worker[] Workers(int needed)
    {
        var workers = _workers;
        if (workers.Length >= needed) return workers;
        lock (Gate)
        {
            if (_workers.Length < needed)
                _workers = [.. _workers, .. Enumerable.Range(_workers.Length, needed - _workers.Length).Select(i => new Worker(i))];
            return _workers;
        }
    }

    /// <summary>One parallel loop: the shared index counter, the helpers inside it, and the first error.</summary>
    private sealed class Loop(int count, Action<int> body, int threads)
    {
        /// <summary>
        /// Indices taken at a time: about 8 chunks per thread. One at a time, threads would fight
        /// over the counter's cache line for every index, which costs more than a small body (a
        /// max-pool plane); 8 chunks each still even out a thread that starts late.
        /// </summary>
        private readonly int _chunk = Math.Max(1, count / (8 * threads));
        private long _nextIndex;   // long: threads adding past an int count near 2^31 must not wrap around
        private int _helpersInside;
        private ExceptionDispatchInfo? _error;

        /// <summary>
        /// Takes chunks of indices until none are left, or a body has thrown: then the loop has
        /// failed, and the other threads stop at their next index, as the inline loop would (going
        /// on ran every remaining body, each throwing again).
        /// </summary>
        public void Work()
        {
            long start;
            while (Volatile.Read(ref _error) == null && (start = Interlocked.Add(ref _nextIndex, _chunk) - _chunk) < count)
            {
                long end = Math.Min(count, start + _chunk);
                for (int i = (int)start; i < end && Volatile.Read(ref _error) == null; i++)
                {
                    try
                    {
                        body(i);
                    }
                    catch (Exception e)
                    {
                        Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
                    }
                }
            }
        }

        /// <summary>A worker's share: counted while inside, so the caller knows when no body still runs.</summary>
        public void Help()
        {
            Interlocked.Increment(ref _helpersInside);
            Work();
            Interlocked.Decrement(ref _helpersInside);
        }

        /// <summary>
        /// Waits for helpers still running a body. A helper that arrives later finds no index left
        /// and never touches the body, so it need not be waited for.
        /// </summary>
        public void WaitForHelpers()
        {
            var spinner = new SpinWait();
            while (Volatile.Read(ref _helpersInside) != 0) spinner.SpinOnce(sleep1Threshold: -1);
        }

        /// <summary>Rethrows what a body threw (the first one), as the caller would have seen it inline.</summary>
        public void RethrowFirstError() => _error?.Throw();
    }

    /// <summary>A background thread running the loops handed to it.</summary>
    private sealed class Worker
    {
        private readonly SemaphoreSlim _wake = new(0);
        private Loop? _next;
        private int _sleeping;

        public Worker(int index) =>
            new Thread(Run) { IsBackground = true, Name = $"Tensorium CPU worker {index + 1}" }.Start();

        /// <summary>Hands a loop to this worker, waking it if it sleeps.</summary>
        public void Start(Loop loop)
        {
            Interlocked.Exchange(ref _next, loop);
            if (Interlocked.CompareExchange(ref _sleeping, 0, 1) == 1) _wake.Release();
        }

        private void Run()
        {
            while (true)
            {
                var loop = WaitForLoop();
                loop.Help();
            }
        }

        /// <summary>
        /// Spins for the next loop, then sleeps. The sleeping flag and the loop are both set with full
        /// fences, so a loop handed over just as the worker goes to sleep is either seen by its last
        /// check or wakes it (at worst one wake-up too many, after which it checks and sleeps again).
        /// </summary>
        private Loop WaitForLoop()
        {
            while (true)
            {
                // Elapsed against the spin rather than a deadline: a spin set near forever
                // (TimeSpan.MaxValue) would overflow the deadline and sleep at once.
                long start = Stopwatch.GetTimestamp(), spin = Volatile.Read(ref SpinTicks);
                while (Stopwatch.GetTimestamp() - start < spin)
                {
                    if (Interlocked.Exchange(ref _next, null) is { } loop) return loop;
                    Thread.SpinWait(20);
                }
                Interlocked.Exchange(ref _sleeping, 1);
                if (Interlocked.Exchange(ref _next, null) is { } late)
                {
                    Interlocked.Exchange(ref _sleeping, 0);
                    return late;
                }
                _wake.Wait();
            }
        }
    }
}
