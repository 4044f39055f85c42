using System.Globalization;
using System.Security;
using System.Text;
using BenchmarkDotNet.Reports;
using Tensorium.Profiling;

namespace Tensorium.Bench;

/// <summary>
/// Draws the run's compute-bound benchmarks on a roofline, <c>roofline.svg</c> beside
/// BenchmarkDotNet's reports: achieved GFLOP/s against arithmetic intensity (FLOP per byte that
/// must cross memory, <see cref="IWorkload.MinimumBytes"/>), log-log, under the two roofs this
/// machine sets for the bench's threads: FMA peak, and memory-copy bandwidth times intensity.
/// </summary>
/// <remarks>
/// Both roofs are measured on this machine (<see cref="MachinePeaks"/>: an FMA loop in registers,
/// and a copy of 64 MiB), not taken from a data sheet, and are the same figures the profiler's
/// table compares with. Kernels left of the ridge are bound by memory, right of it by compute.
/// </remarks>
public static class Roofline
{
    /// <summary>One benchmark case: "Gemm.TensoriumSgemm" with "512x512x512", where it sits, and whose it is.</summary>
    private sealed record Point(string Name, string Parameters, bool IsReference, double Intensity, double Gflops)
    {
        public string Label => Parameters.Length == 0 ? Name : $"{Name} {Parameters}";
    }

    /// <summary>Measures the roofs and writes the picture when the run measured anything it can place.</summary>
    public static void Write(IReadOnlyList<Summary> summaries, int threads)
    {
        var points = (
            from summary in summaries
            from report in summary.Reports
            let median = report.ResultStatistics?.Median ?? 0
            let flops = ThroughputColumn.WorkOf(report.BenchmarkCase, (w, m) => w.Flops(m))
            let bytes = ThroughputColumn.WorkOf(report.BenchmarkCase, (w, m) => w.MinimumBytes(m))
            where median > 0 && flops > 0 && bytes > 0
            let c = report.BenchmarkCase
            select new Point($"{c.Descriptor.Type.Name.Replace("Benchmarks", "")}.{c.Descriptor.WorkloadMethod.Name}", Parameters(c),
                c.Descriptor.HasCategory(BenchSettings.ReferenceCategory), flops / bytes, flops / median)).ToList();   // flops per ns = GFLOP/s
        if (points.Count == 0) return;

        Console.WriteLine($"roofline: this machine's roofs (FMA peak, memory copy; measured once, kept in {MachinePeaks.CacheFile})...");
        var peaks = MachinePeaks.For(threads);
        double peak = peaks.Gflops, bandwidth = peaks.CopyGBytesPerSecond;
        string path = Path.Combine(summaries[0].ResultsDirectoryPath, "roofline.svg");
        File.WriteAllText(path, Svg(points, peak, bandwidth, threads));
        Console.WriteLine($"roofline: {path} (compute roof {peak:F0} GFLOP/s, memory roof {bandwidth:F1} GB/s, {threads} threads)");
    }

    /// <summary>The case's parameter values: "512x512x512", or "causal" / "full" for attention's flag.</summary>
    private static string Parameters(BenchmarkDotNet.Running.BenchmarkCase c) =>
        string.Join(",", c.Parameters.Items.Select(p => p.Name == "Causal" ? (Equals(p.Value, true) ? "causal" : "full") : p.Value?.ToString()));

    // ------------------------------------------------------------------------------------------
    // The picture
    // ------------------------------------------------------------------------------------------

    // The plot takes the left part; a numbered key of the points (labels would overlap) the right.
    private const int Width = 1060, Height = 560, Left = 70, Right = 360, Top = 50, Bottom = 50;
    private const double MinIntensity = 0.125, MaxIntensity = 1024;

    private static string Svg(List<Point> points, double peak, double bandwidth, int threads)
    {
        // Three decades of GFLOP/s, topped by the first power of ten above the peak.
        double yMax = Math.Pow(10, Math.Ceiling(Math.Log10(peak * 1.2))), yMin = yMax / 1000;
        double X(double intensity) => Left + (Math.Log2(Math.Clamp(intensity, MinIntensity, MaxIntensity)) - Math.Log2(MinIntensity))
            / (Math.Log2(MaxIntensity) - Math.Log2(MinIntensity)) * (Width - Left - Right);
        double Y(double gflops) => Top + (Math.Log10(yMax) - Math.Log10(Math.Clamp(gflops, yMin, yMax)))
            / (Math.Log10(yMax) - Math.Log10(yMin)) * (Height - Top - Bottom);
        static string F(double v, string format = "0.###") => v.ToString(format, CultureInfo.InvariantCulture);

        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        svg.Append($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n");
        svg.Append($"<text x=\"{Left}\" y=\"22\" font-size=\"15\">Roofline: Tensorium's CPU kernels, {threads} threads</text>\n");

        // Grid: powers of two of intensity, decades of GFLOP/s.
        for (double i = MinIntensity; i <= MaxIntensity; i *= 2)
            svg.Append($"<line x1=\"{F(X(i))}\" y1=\"{Top}\" x2=\"{F(X(i))}\" y2=\"{Height - Bottom}\" stroke=\"#eee\"/>" +
                       $"<text x=\"{F(X(i))}\" y=\"{Height - Bottom + 15}\" text-anchor=\"middle\">{F(i)}</text>\n");
        for (double g = yMin; g <= yMax * 1.001; g *= 10)
            svg.Append($"<line x1=\"{Left}\" y1=\"{F(Y(g))}\" x2=\"{Width - Right}\" y2=\"{F(Y(g))}\" stroke=\"#eee\"/>" +
                       $"<text x=\"{Left - 6}\" y=\"{F(Y(g) + 4)}\" text-anchor=\"end\">{F(g)}</text>\n");
        svg.Append($"<text x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 12}\" text-anchor=\"middle\">arithmetic intensity (FLOP per byte read or written once)</text>\n");
        svg.Append($"<text transform=\"translate(16 {(Top + Height - Bottom) / 2}) rotate(-90)\" text-anchor=\"middle\">GFLOP/s</text>\n");

        // The roof: bandwidth x intensity up to the ridge, then the FMA peak.
        double ridge = peak / bandwidth;
        svg.Append($"<polyline fill=\"none\" stroke=\"#444\" stroke-width=\"2\" points=\"{F(X(MinIntensity))},{F(Y(bandwidth * MinIntensity))} " +
                   $"{F(X(ridge))},{F(Y(peak))} {F(X(MaxIntensity))},{F(Y(peak))}\"/>\n");
        svg.Append($"<text x=\"{F(X(MaxIntensity) - 4)}\" y=\"{F(Y(peak) - 6)}\" text-anchor=\"end\">FMA peak {F(peak, "F0")} GFLOP/s</text>\n");
        svg.Append($"<text x=\"{F(X(MinIntensity * 2) + 10)}\" y=\"{F(Y(bandwidth * MinIntensity * 2) + 4)}\">memory copy {F(bandwidth, "F1")} GB/s</text>\n");

        // Key order: benchmark class, then parameters, so both libraries' points for one shape stand together.
        var ordered = points.OrderBy(p => p.Name.Split('.')[0], StringComparer.Ordinal).ThenBy(p => p.Parameters, StringComparer.Ordinal)
            .ThenBy(p => p.Name, StringComparer.Ordinal).ToList();
        for (int i = 0; i < ordered.Count; i++)
        {
            var p = ordered[i];
            string color = p.IsReference ? "#e07b00" : "#1f5fbf", label = SecurityElement.Escape(p.Label);
            double x = X(p.Intensity), y = Y(p.Gflops), keyY = Top + 14 * i;
            svg.Append($"<circle cx=\"{F(x)}\" cy=\"{F(y)}\" r=\"4\" fill=\"{color}\"><title>{label}</title></circle>" +
                       $"<text x=\"{F(x + 5)}\" y=\"{F(y - 5)}\" font-size=\"9\" fill=\"{color}\">{i + 1}</text>\n");
            svg.Append($"<text x=\"{Width - Right + 20}\" y=\"{keyY}\" font-size=\"10\" fill=\"{color}\">{i + 1}. {label}: {F(p.Gflops, "F1")} GFLOP/s</text>\n");
        }

        // Legend.
        svg.Append($"<circle cx=\"{Left + 14}\" cy=\"{Top + 14}\" r=\"4\" fill=\"#1f5fbf\"/><text x=\"{Left + 24}\" y=\"{Top + 18}\">Tensorium</text>\n");
        svg.Append($"<circle cx=\"{Left + 14}\" cy=\"{Top + 30}\" r=\"4\" fill=\"#e07b00\"/><text x=\"{Left + 24}\" y=\"{Top + 34}\">reference (OpenBLAS)</text>\n");
        svg.Append("</svg>\n");
        return svg.ToString();
    }
}
