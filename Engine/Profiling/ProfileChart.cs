using System.Globalization;
using System.Security;
using System.Text;

namespace Tensorium.Profiling;

/// <summary>
/// The profiler's slowest ops as a picture (SVG, opens in any browser): one row per op, phase and
/// input shapes, as in <see cref="ProfileTable"/>, with a bar for its total time (blue forward,
/// orange backward) and under it a thin gauge of how close it ran to the machine's roofs. A long
/// bar over an almost empty gauge is where time is lost.
/// </summary>
public static class ProfileChart
{
    private const int Width = 1080, LabelWidth = 360, BarWidth = 420, RowHeight = 36, Top = 62;

    /// <summary>Writes the chart of <paramref name="profiler"/>'s <paramref name="top"/> slowest rows to <paramref name="path"/> (creating its folder).</summary>
    public static void Write(Profiler profiler, string path, string title, int top = 20, MachinePeaks? peaks = null)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder != null) Directory.CreateDirectory(folder);
        File.WriteAllText(path, Svg(profiler, title, top, peaks));
    }

    /// <summary>
    /// The chart as SVG text. <paramref name="peaks"/> defaults, as for the table, to
    /// <see cref="MachinePeaks.ForCpu"/> when any op ran on the CPU; ops elsewhere get no gauge.
    /// </summary>
    public static string Svg(Profiler profiler, string title, int top = 20, MachinePeaks? peaks = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(top);
        var all = ProfileTable.Rows(profiler);
        if (peaks == null && all.Any(r => r.Device == Device.Cpu)) peaks = MachinePeaks.ForCpu();
        var rows = all.Take(top).ToList();
        var opTime = TimeSpan.FromTicks(all.Sum(r => r.Total.Ticks));
        double longest = rows.Count > 0 ? rows[0].Total.TotalMilliseconds : 0;
        int height = Top + RowHeight * rows.Count + 40;

        var svg = new StringBuilder();
        svg.Append(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n"));
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(Invariant($"<text x=\"10\" y=\"22\" font-size=\"15\">{Escape(title)}</text>\n"));
        string roofs = peaks == null ? "" : Invariant($"; gauge: share of the roofs ({peaks.Gflops:F0} GFLOP/s, {peaks.CopyGBytesPerSecond:F0} GB/s)");
        svg.Append(Invariant($"<text x=\"10\" y=\"42\" fill=\"#555\">{all.Sum(r => r.Calls)} op calls, {opTime.TotalMilliseconds:F1} ms in ops; the {rows.Count} slowest rows of {all.Count}{Escape(roofs)}</text>\n"));

        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            int y = Top + i * RowHeight;
            string phase = row.Phase == ProfilePhase.Backward ? "backward" : "forward";
            string where = row.Device == Device.Cpu ? row.DType.Name() : $"{row.DType.Name()}, {row.Device}";
            svg.Append(Invariant($"<text x=\"10\" y=\"{y + 12}\">{Escape(row.Name)} ({phase})</text>\n"));
            svg.Append(Invariant($"<text x=\"10\" y=\"{y + 26}\" font-size=\"10\" fill=\"#777\">{Escape(Shorten($"{row.Shapes} ({where})", 62))}</text>\n"));

            double width = longest > 0 ? BarWidth * row.Total.TotalMilliseconds / longest : 0;
            string fill = row.Phase == ProfilePhase.Backward ? "#e8863a" : "#3a78c2";
            svg.Append(Invariant($"<rect class=\"time\" x=\"{LabelWidth}\" y=\"{y + 2}\" width=\"{width:F1}\" height=\"16\" fill=\"{fill}\"><title>{row.Calls} calls, {row.Mean.TotalMicroseconds:F1} us each</title></rect>\n"));
            double share = opTime > TimeSpan.Zero ? row.Total / opTime : 0;
            // The rate of whichever roof binds: GFLOP/s for a matrix product, GB/s for a ReLU.
            string rate = row.BoundByFlops(peaks) ? Invariant($", {row.Gflops:F1} GFLOP/s") : Invariant($", {row.GBytesPerSecond:F1} GB/s");
            string text = Invariant($"{row.Total.TotalMilliseconds:F2} ms, {100 * share:F0}%{rate}");
            if (row.RoofFraction(peaks) is double roof)
            {
                // The gauge spans the bar's full length: 100% is running at the roofs.
                svg.Append(Invariant($"<rect x=\"{LabelWidth}\" y=\"{y + 21}\" width=\"{BarWidth}\" height=\"5\" fill=\"#e4e4e4\"/>\n"));
                svg.Append(Invariant($"<rect class=\"roof\" x=\"{LabelWidth}\" y=\"{y + 21}\" width=\"{BarWidth * Math.Clamp(roof, 0, 1):F1}\" height=\"5\" fill=\"#444\"/>\n"));
                text += Invariant($", roof {100 * roof:F0}%");
            }
            svg.Append(Invariant($"<text x=\"{LabelWidth + width + 6:F1}\" y=\"{y + 15}\">{Escape(text)}</text>\n"));
        }

        int legend = Top + RowHeight * rows.Count + 16;
        svg.Append(Invariant($"<rect x=\"10\" y=\"{legend}\" width=\"12\" height=\"12\" fill=\"#3a78c2\"/><text x=\"28\" y=\"{legend + 11}\">forward</text>\n"));
        svg.Append(Invariant($"<rect x=\"100\" y=\"{legend}\" width=\"12\" height=\"12\" fill=\"#e8863a\"/><text x=\"118\" y=\"{legend + 11}\">backward</text>\n"));
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static string Shorten(string text, int most) => text.Length <= most ? text : text[..(most - 1)] + "…";

    private static string Escape(string text) => SecurityElement.Escape(text);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
