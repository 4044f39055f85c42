using System.Globalization;

namespace Tensorium.Bench;

/// <summary>
/// The CPU time of this process's threads, grouped by what they do, read from Linux's
/// /proc/self/task/*/schedstat (time on a CPU, in nanoseconds) and stat (the part of it in the
/// kernel, in clock ticks of 10 ms: rounded down per thread, so only a guide). The serving bench takes
/// one snapshot before and one after its timed load, so the difference says where the CPU went
/// per request (the model's threads, the socket engine, the thread pool that runs Kestrel and the
/// clients, the JIT, the GC) without a profiler. Threads that ended between the snapshots are not
/// counted; the remainder against the process total shows how much that was.
/// </summary>
public sealed class ThreadCpu
{
    private readonly Dictionary<int, (string Name, long Nanoseconds, long KernelNanoseconds)> _threads;

    private ThreadCpu(Dictionary<int, (string, long, long)> threads) => _threads = threads;

    /// <summary>Clock ticks a second in /proc's times (USER_HZ: 100 on Linux).</summary>
    private const double TicksPerSecond = 100;

    /// <summary>Whether per-thread times can be read here (Linux).</summary>
    public static bool IsAvailable => Directory.Exists("/proc/self/task");

    /// <summary>The CPU time each thread of this process has used so far.</summary>
    public static ThreadCpu Snapshot()
    {
        var threads = new Dictionary<int, (string, long, long)>();
        if (!IsAvailable) return new ThreadCpu(threads);
        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            string stat, schedstat;
            try
            {
                stat = File.ReadAllText(Path.Combine(task, "stat"));
                schedstat = File.ReadAllText(Path.Combine(task, "schedstat"));
            }
            catch (IOException)
            {
                continue;   // the thread ended while we looked
            }
            // "tid (name) state ..." : the name may hold spaces or parentheses, so cut at the last ')'.
            int open = stat.IndexOf('('), close = stat.LastIndexOf(')');
            string[] rest = stat[(close + 2)..].Split(' ');
            // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
            // Nanoseconds on a CPU: a thread that ran 6 ms in all would show 0 ticks in stat.
            long nanoseconds = long.Parse(schedstat.Split(' ')[0], CultureInfo.InvariantCulture);
            long kernel = long.Parse(rest[12], CultureInfo.InvariantCulture) * (long)(1e9 / TicksPerSecond);
            threads[int.Parse(stat[..open], CultureInfo.InvariantCulture)] = (stat[(open + 1)..close], nanoseconds, kernel);
        }
        return new ThreadCpu(threads);
    }

    /// <summary>
    /// Seconds of CPU used since <paramref name="before"/> by each group of threads, largest
    /// first, with the part of it spent in the kernel (system calls, waking threads).
    /// </summary>
    public IEnumerable<(string Group, double Seconds, double KernelSeconds)> Since(ThreadCpu before)
    {
        var groups = new Dictionary<string, (long Ticks, long Kernel)>();
        foreach (var (id, (name, ticks, kernel)) in _threads)
        {
            var old = before._threads.TryGetValue(id, out var o) && o.Name == name ? o : default;
            var sum = groups.GetValueOrDefault(Group(name));
            groups[Group(name)] = (sum.Ticks + ticks - old.Nanoseconds, sum.Kernel + kernel - old.KernelNanoseconds);
        }
        return groups.Where(g => g.Value.Ticks > 0).OrderByDescending(g => g.Value.Ticks)
            .Select(g => (g.Key, g.Value.Ticks / 1e9, g.Value.Kernel / 1e9));
    }

    /// <summary>What a thread does, from its name (Linux keeps the first 15 bytes).</summary>
    private static string Group(string name) => name switch
    {
        _ when name.StartsWith("Tensorium batch", StringComparison.Ordinal) => "model (batcher thread)",
        _ when name.StartsWith("Tensorium CPU", StringComparison.Ordinal) => "model (CPU workers)",
        _ when name.StartsWith("bench client", StringComparison.Ordinal) => "bench clients",
        _ when name.StartsWith(".NET TP Worker", StringComparison.Ordinal) => "thread pool (Kestrel)",
        _ when name.StartsWith(".NET SynchManag", StringComparison.Ordinal) => "runtime (other)",
        _ when name.StartsWith(".NET Sockets", StringComparison.Ordinal) || name.StartsWith(".NET SocketEng", StringComparison.Ordinal) => "socket engine (epoll)",
        _ when name.StartsWith(".NET Tiered", StringComparison.Ordinal) => "JIT (tiering)",
        _ when name.StartsWith(".NET BGC", StringComparison.Ordinal) || name.StartsWith(".NET Server GC", StringComparison.Ordinal) => "GC",
        _ => name,
    };
}
