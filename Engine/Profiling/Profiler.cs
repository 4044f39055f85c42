using System.Diagnostics;

namespace Tensorium.Profiling;

/// <summary>
/// Records every op that runs while it is open: <c>using (var profile = Profiler.Start()) { ... }</c>,
/// then <see cref="Table"/> for the op table and <see cref="WriteChromeTrace"/> for a timeline
/// (Perfetto, chrome://tracing). Each record says which backend op ran (forward or backward), on
/// which input shapes, dtype and device, how long it took, and its FLOPs and bytes.
/// </summary>
/// <remarks>
/// <para>The hook: every op reaches its device through <c>Device.Backend</c>. While a profiler
/// is open that property hands out a <see cref="ProfilingBackend"/> that times each call and
/// passes it on; otherwise it hands out the device's own backend after one static check, so a
/// program that never profiles pays nothing more.</para>
/// <para>Sessions may nest or overlap (each records every op that runs while it is open, on any
/// thread) and are closed by <see cref="Dispose"/>; a closed session keeps its records.</para>
/// <para>On a GPU each op is timed between two synchronisations (before and after it), so its
/// time is the time the device spent on it, launch included, not the time to queue it. The
/// profiled program runs slower than it would unprofiled, since nothing overlaps.</para>
/// </remarks>
public sealed class Profiler : IDisposable
{
    private static readonly object Gate = new();
    /// <summary>The open sessions, or null when none is: the one field every op reads.</summary>
    private static volatile Profiler[]? _open;

    /// <summary>True on a thread while the tape runs backward functions (set by the Autograd's Tape).</summary>
    [ThreadStatic] internal static bool InBackward;

    /// <summary>This thread's track number (0 until its first op), and the last one handed out.</summary>
    [ThreadStatic] private static int t_track;
    private static int _lastTrack;

    /// <summary>
    /// The calling thread's track in the trace: a number given to each thread on its first
    /// recorded op and never reused in the process. Not the managed thread id: the runtime hands
    /// an ended thread's id to the next thread it starts, and two data-loader threads in turn
    /// then shared one track, under the first one's name.
    /// </summary>
    internal static int ThreadTrack => t_track != 0 ? t_track : t_track = Interlocked.Increment(ref _lastTrack);

    private readonly List<ProfiledOp> _ops = [];
    private readonly Dictionary<int, string> _threadNames = [];
    private readonly long _startTimestamp = Stopwatch.GetTimestamp();
    private long _endTimestamp;

    private Profiler() { }

    /// <summary>
    /// Whether any profiler is open: the one check an op pays when none is (and none at all where
    /// profiling is off, <see cref="IsSupported"/>: the JIT folds the read-only static away).
    /// </summary>
    public static bool IsAnyOpen => IsSupported && _open != null;

    /// <summary>The environment variable that turns profiling off for a process: <c>TENSORIUM_PROFILER=off</c>.</summary>
    public const string SwitchVariable = "TENSORIUM_PROFILER";

    /// <summary>
    /// Whether ops can be profiled in this process: true unless <see cref="SwitchVariable"/> is
    /// "off" when the library loads. Off, ops never look for a profiler (a read-only static the JIT
    /// folds away, so <see cref="IsAnyOpen"/> is false without reading anything) and <see cref="Start"/> throws.
    /// It is how the bench times the library with no hook at all (ProfilerHookBenchmarks).
    /// </summary>
    public static bool IsSupported { get; } = !string.Equals(Environment.GetEnvironmentVariable(SwitchVariable), "off", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Opens a session that records every op until it is disposed. Dispose it (a <c>using</c>
    /// block): an open session keeps every op from every thread, so its records grow without bound.
    /// </summary>
    public static Profiler Start()
    {
        if (!IsSupported)
            throw new InvalidOperationException($"Profiler.Start: profiling is off in this process ({SwitchVariable}=off); expected {SwitchVariable} unset to profile.");
        var session = new Profiler();
        lock (Gate) _open = [.. _open ?? [], session];
        return session;
    }

    /// <summary>Whether this session is still recording.</summary>
    public bool IsRecording => _endTimestamp == 0;

    /// <summary>
    /// Wall time the session was open (until now while it is): the "profiled time" that the
    /// ops' times are compared with; the difference is host code between ops.
    /// </summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_startTimestamp, IsRecording ? Stopwatch.GetTimestamp() : _endTimestamp);

    /// <summary>The ops recorded so far, in the order they finished (a copy: take it once, not per element).</summary>
    public IReadOnlyList<ProfiledOp> Ops
    {
        get { lock (_ops) return [.. _ops]; }
    }

    /// <summary>The name of each thread that ran an op (its <see cref="Thread.Name"/>, or "thread N"), by its <see cref="ProfiledOp.ThreadId"/>.</summary>
    public IReadOnlyDictionary<int, string> ThreadNames
    {
        get { lock (_ops) return new Dictionary<int, string>(_threadNames); }
    }

    /// <summary>Stops recording (safe to call twice); the records stay readable.</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (!IsRecording) return;
            // Under the records' lock too: an op another thread finishes from now on sees the
            // session ended (Record checks under that lock) and is not added after its end.
            lock (_ops) _endTimestamp = Stopwatch.GetTimestamp();
            var rest = (_open ?? []).Where(s => s != this).ToArray();
            _open = rest.Length == 0 ? null : rest;
        }
    }

    /// <summary>The op table (see <see cref="ProfileTable"/>), against this machine's measured peaks on the CPU.</summary>
    /// <param name="top">How many rows at most (the slowest groups), or all.</param>
    /// <param name="peaks">The roofs to compare with; <see cref="MachinePeaks.ForCpu()"/> when null and the ops ran on the CPU.</param>
    public string Table(int top = int.MaxValue, MachinePeaks? peaks = null) => ProfileTable.Format(this, top, peaks);

    /// <summary>Writes the ops as a Chrome trace (see <see cref="ChromeTrace"/>) to <paramref name="path"/>.</summary>
    public void WriteChromeTrace(string path) => ChromeTrace.Write(this, path);

    /// <summary>The slowest ops as an SVG bar chart (see <see cref="ProfileChart"/>).</summary>
    /// <param name="title">The chart's heading.</param>
    /// <param name="top">How many rows (the slowest groups of op, phase and shapes).</param>
    /// <param name="peaks">The roofs for the gauges; <see cref="MachinePeaks.ForCpu()"/> when null and the ops ran on the CPU.</param>
    public string Chart(string title, int top = 20, MachinePeaks? peaks = null) => ProfileChart.Svg(this, title, top, peaks);

    /// <summary>Writes <see cref="Chart"/> to <paramref name="path"/> (an .svg file, which any browser opens).</summary>
    public void WriteChart(string path, string title, int top = 20, MachinePeaks? peaks = null) => ProfileChart.Write(this, path, title, top, peaks);

    /// <summary>Microseconds from this session's start to <paramref name="timestamp"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    internal double Microseconds(long timestamp) => (timestamp - _startTimestamp) * 1e6 / Stopwatch.Frequency;

    /// <summary>Adds one finished op to every open session (each keeps it if it was open when the op started).</summary>
    internal static void Record(ProfiledOp op, long startTimestamp)
    {
        var open = _open;
        if (open == null) return;
        foreach (var session in open)
        {
            if (startTimestamp < session._startTimestamp) continue;
            lock (session._ops)
            {
                if (!session.IsRecording) continue;
                session._ops.Add(op with { Start = TimeSpan.FromMicroseconds(session.Microseconds(startTimestamp)) });
                if (!session._threadNames.ContainsKey(op.ThreadId))
                    session._threadNames[op.ThreadId] = Thread.CurrentThread.Name ?? $"thread {op.ThreadId}";
            }
        }
    }
}
