using System.Globalization;
using System.Text;

namespace Tensorium.Profiling;

/// <summary>
/// A profiler's op table, like <c>torch.profiler</c>'s <c>key_averages().table()</c>: one row
/// per op, phase and input shapes, slowest first, with calls, total and mean time, share of all
/// op time, achieved GFLOP/s and GB/s, and how close that is to the machine's roofline.
/// </summary>
/// <remarks>
/// "Roof" is the time the op would need at the roofs (the larger of its FLOPs at the FMA peak and
/// its bytes at the copy bandwidth, see <see cref="MachinePeaks"/>) divided by the time it took:
/// 100% is as fast as this machine can go; a small figure on a large share is where time is lost.
/// It is shown for CPU ops only (no GPU roofs are measured).
/// </remarks>
public static class ProfileTable
{
    /// <summary>One row: every call of one op with one phase, dtype, device and set of input shapes.</summary>
    /// <param name="Name">The op.</param>
    /// <param name="Phase">Forward or backward.</param>
    /// <param name="Shapes">The input shapes.</param>
    /// <param name="DType">The element type.</param>
    /// <param name="Device">Where it ran.</param>
    /// <param name="Calls">How many calls.</param>
    /// <param name="Total">Their summed time.</param>
    /// <param name="Flops">Their summed FLOPs.</param>
    /// <param name="Bytes">Their summed bytes.</param>
    public sealed record Row(string Name, ProfilePhase Phase, string Shapes, DType DType, Device Device, int Calls, TimeSpan Total, double Flops, double Bytes)
    {
        /// <summary>Mean time per call.</summary>
        public TimeSpan Mean => Total / Calls;

        /// <summary>10⁹ FLOP per second (0 for ops without FLOPs).</summary>
        public double Gflops => Total > TimeSpan.Zero ? Flops / Total.TotalSeconds / 1e9 : 0;

        /// <summary>10⁹ bytes read and written per second.</summary>
        public double GBytesPerSecond => Total > TimeSpan.Zero ? Bytes / Total.TotalSeconds / 1e9 : 0;

        /// <summary>
        /// Whether the FMA roof binds rather than the copy roof: the FLOPs would take longer at
        /// the FMA peak than the bytes at the copy bandwidth (without roofs: whether it has FLOPs).
        /// </summary>
        public bool BoundByFlops(MachinePeaks? peaks) =>
            peaks == null ? Flops > 0 : PeakGflops(peaks, DType) is double peak && Flops / peak >= Bytes / peaks.CopyGBytesPerSecond;

        /// <summary>The time at the roofs over the time taken (see <see cref="ProfileTable"/>), or null off the CPU.</summary>
        public double? RoofFraction(MachinePeaks? peaks) =>
            peaks == null || Device != Device.Cpu || Total <= TimeSpan.Zero ? null
                : (BoundByFlops(peaks) ? Flops / (PeakGflops(peaks, DType)!.Value * 1e9) : Bytes / (peaks.CopyGBytesPerSecond * 1e9)) / Total.TotalSeconds;
    }

    /// <summary>
    /// The FMA roof for arithmetic in <paramref name="dtype"/>: the measured (float32) peak, half
    /// of it for float64 (the same vectors hold half as many lanes), and none for integers (no
    /// integer peak is measured: their ops are held to the copy roof only).
    /// </summary>
    public static double? PeakGflops(MachinePeaks peaks, DType dtype) => dtype switch
    {
        DType.Float32 => peaks.Gflops,
        DType.Float64 => peaks.Gflops / 2,
        _ => null,
    };

    /// <summary>The profiler's ops grouped into rows, slowest total first.</summary>
    public static IReadOnlyList<Row> Rows(Profiler profiler) => RowsOf(profiler.Ops);

    private static IReadOnlyList<Row> RowsOf(IReadOnlyList<ProfiledOp> ops) =>
        [.. ops.GroupBy(op => (op.Name, op.Phase, op.Shapes, op.DType, op.Device))
            .Select(g => new Row(g.Key.Name, g.Key.Phase, g.Key.Shapes, g.Key.DType, g.Key.Device, g.Count(),
                TimeSpan.FromTicks(g.Sum(op => op.Duration.Ticks)), g.Sum(op => op.Flops), g.Sum(op => (double)op.Bytes)))
            .OrderByDescending(r => r.Total).ThenBy(r => r.Name, StringComparer.Ordinal)];

    /// <summary>The rows of <see cref="Rows"/> merged over shapes: one per op, phase, dtype and device, slowest first.</summary>
    public static IReadOnlyList<Row> ByOp(IReadOnlyList<Row> rows) =>
        [.. rows.GroupBy(r => (r.Name, r.Phase, r.DType, r.Device))
            .Select(g => new Row(g.Key.Name, g.Key.Phase, g.Count() == 1 ? g.First().Shapes : $"{g.Count()} shapes", g.Key.DType, g.Key.Device,
                g.Sum(r => r.Calls), TimeSpan.FromTicks(g.Sum(r => r.Total.Ticks)), g.Sum(r => r.Flops), g.Sum(r => r.Bytes)))
            .OrderByDescending(r => r.Total).ThenBy(r => r.Name, StringComparer.Ordinal)];

    /// <summary>
    /// The table as text: a header (profiled time, time in ops, the roofs), the ops with their
    /// shapes merged (at most 15 rows), then at most <paramref name="top"/> rows by op and shapes. <paramref name="peaks"/> defaults to <see cref="MachinePeaks.ForCpu"/>
    /// (measured on first use) when any op ran on the CPU.
    /// </summary>
    public static string Format(Profiler profiler, int top = int.MaxValue, MachinePeaks? peaks = null)
    {
        ArgumentNullException.ThrowIfNull(profiler);
        if (top < 0) throw new ArgumentOutOfRangeException(nameof(top), top, $"ProfileTable.Format: top must be 0 or more rows, got {top}.");
        var ops = profiler.Ops;
        var rows = RowsOf(ops);
        var opTime = TimeSpan.FromTicks(rows.Sum(r => r.Total.Ticks));
        if (peaks == null && rows.Any(r => r.Device == Device.Cpu)) peaks = MachinePeaks.ForCpu();
        var text = new StringBuilder();
        var elapsed = profiler.Elapsed;
        int threads = ops.Select(op => op.ThreadId).Distinct().Count();
        // The share is of the time some op was running, not of the summed op times: ops on
        // several threads at once (a data loader beside the training loop) overlap, and their
        // sum can pass the wall time.
        text.AppendLine(Invariant($"Profiled {elapsed.TotalMilliseconds:F1} ms: {rows.Sum(r => r.Calls)} op calls took {opTime.TotalMilliseconds:F1} ms") +
            (threads > 1 ? Invariant($" on {threads} threads") : "") +
            Invariant($" ({Percent(elapsed > TimeSpan.Zero ? Busy(ops) / elapsed : 0)} of the time an op was running; the rest is host code between ops)."));
        if (peaks != null)
        {
            text.AppendLine(Invariant($"CPU roofs ({peaks.Threads} threads): FMA peak {peaks.Gflops:F1} GFLOP/s (float32; half that for float64), memory copy {peaks.CopyGBytesPerSecond:F1} GB/s."));
            // No op can beat the FMA peak, so one that did shows the roofs were measured while
            // something else had the cores (they are kept between runs: see MachinePeaks).
            if (rows.FirstOrDefault(r => r.Device == Device.Cpu && PeakGflops(peaks, r.DType) is double peak && r.Gflops > peak) is Row faster)
                text.AppendLine(Invariant($"The roofs look low: {faster.Name} ran at {faster.Gflops:F1} GFLOP/s, above the FMA peak. ") +
                    $"If they came from the cache, they were probably measured on a busy machine: delete {MachinePeaks.CacheFile} to measure them again.");
        }
        var byOp = ByOp(rows);
        text.AppendLine().AppendLine("By op (shapes together):");
        AppendRows(text, byOp, Math.Min(top, 15), opTime, peaks);
        text.AppendLine().AppendLine("By op and input shapes:");
        AppendRows(text, rows, top, opTime, peaks);
        return text.ToString();
    }

    private static void AppendRows(StringBuilder text, IReadOnlyList<Row> rows, int top, TimeSpan opTime, MachinePeaks? peaks)
    {
        text.AppendLine(Invariant($"{"Op",-26} {"Phase",-8} {"Calls",6} {"Total ms",9} {"Mean us",9} {"Share",6} {"GFLOP/s",8} {"GB/s",7} {"Roof",5}  Shapes"));
        foreach (var r in rows.Take(top))
        {
            double share = opTime > TimeSpan.Zero ? r.Total / opTime : 0;
            string roof = r.RoofFraction(peaks) is double f ? Percent(f) : "-";
            string gflops = r.Flops > 0 ? Invariant($"{r.Gflops:F1}") : "-";
            string where = r.Device == Device.Cpu ? r.DType.Name() : $"{r.DType.Name()}, {r.Device}";
            text.AppendLine(Invariant($"{r.Name,-26} {Phase(r.Phase),-8} {r.Calls,6} {r.Total.TotalMilliseconds,9:F2} {r.Mean.TotalMicroseconds,9:F1} ") +
                Invariant($"{Percent(share),6} {gflops,8} {r.GBytesPerSecond,7:F1} {roof,5}  {r.Shapes} ({where})"));
        }
        if (rows.Count > top) text.AppendLine(Invariant($"... {rows.Count - top} more rows"));
    }

    /// <summary>How long at least one op was running: the union of the ops' intervals, over all threads.</summary>
    private static TimeSpan Busy(IReadOnlyList<ProfiledOp> ops)
    {
        var busy = TimeSpan.Zero;
        var end = TimeSpan.MinValue;
        foreach (var op in ops.OrderBy(op => op.Start))
        {
            var opEnd = op.Start + op.Duration;
            if (opEnd <= end) continue;                       // inside the stretch counted so far
            busy += opEnd - (op.Start > end ? op.Start : end); // only the part past it
            end = opEnd;
        }
        return busy;
    }

    private static string Phase(ProfilePhase phase) => phase == ProfilePhase.Backward ? "backward" : "forward";

    private static string Percent(double fraction) => Invariant($"{100 * fraction:F0}%");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
