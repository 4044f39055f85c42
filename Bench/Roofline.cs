using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Security;
using System.Text;
using BenchmarkDotNet.Reports;
using Tensorium.Kernels.Cpu;

namespace Tensorium.Bench;

/// <summary>
/// Draws the run's compute-bound benchmarks on a roofline, <c>roofline.svg</c> beside
/// BenchmarkDotNet's reports: achieved GFLOP/s against arithmetic intensity (FLOP per byte that
/// must cross memory, <see cref="IWorkload.MinimumBytes"/>), log-log, under the two roofs this
/// machine sets for the bench's threads: FMA peak, and memory-copy bandwidth times intensity.
/// </summary>
/// <remarks>
/// Both roofs are measured at the end of the same run (an FMA loop in registers, and a copy of
/// 64 MiB), not taken from a data sheet, so a point's gap below its roof is what the kernel leaves
/// on this machine, today. Kernels left of the ridge are bound by memory, right of it by compute.
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

        Console.WriteLine("roofline: measuring this machine's roofs (FMA peak, memory copy)...");
        CpuParallel.Threads = threads;
        double peak = PeakGflops(threads), bandwidth = CopyGBytesPerSecond();
        string path = Path.Combine(summaries[0].ResultsDirectoryPath, "roofline.svg");
        File.WriteAllText(path, Svg(points, peak, bandwidth, threads));
        Console.WriteLine($"roofline: {path} (compute roof {peak:F0} GFLOP/s, memory roof {bandwidth:F1} GB/s, {threads} threads)");
    }

    /// <summary>The case's parameter values: "512x512x512", or "causal" / "full" for attention's flag.</summary>
    private static string Parameters(BenchmarkDotNet.Running.BenchmarkCase c) =>
        string.Join(",", c.Parameters.Items.Select(p => p.Name == "Causal" ? (Equals(p.Value, true) ? "causal" : "full") : p.Value?.ToString()));

    // ------------------------------------------------------------------------------------------
    // The roofs
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Every thread runs independent FMA chains in registers; the sum of their rates, best of ten
    /// short tries spread over about a second (on a shared machine a neighbour's burst can halve one).
    /// </summary>
    private static double PeakGflops(int threads)
    {
        double best = 0;
        for (int attempt = 0; attempt < 10; attempt++, Thread.Sleep(50))
        {
            var rates = new double[threads];
            CpuParallel.For(threads, t =>
            {
                const long steps = 20_000_000;
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                int flopsPerStep = FmaChains(steps, out float sink);
                double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
                rates[t] = sink == 12345 ? 0 : steps * flopsPerStep / seconds / 1e9;   // sink keeps the loop alive
            });
            best = Math.Max(best, rates.Sum());
        }
        return best;
    }

    /// <summary>
    /// Twelve independent multiply-add chains (enough to cover FMA latency on two pipes) in the
    /// widest vectors the GEMM kernel uses here; returns the FLOP per step.
    /// A separate method, so nothing around it (the timer calls) pushes the chains out of registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int FmaChains(long steps, out float sink)
    {
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
        {
            Vector512<float> x = Vector512.Create(1.0000001f), y = Vector512.Create(0.9999999f);
            Vector512<float> c0 = x, c1 = x, c2 = x, c3 = x, c4 = x, c5 = x, c6 = x, c7 = x, c8 = x, c9 = x, c10 = x, c11 = x;
            for (long i = 0; i < steps; i++)
            {
                c0 = Vector512.FusedMultiplyAdd(c0, y, x); c1 = Vector512.FusedMultiplyAdd(c1, y, x); c2 = Vector512.FusedMultiplyAdd(c2, y, x);
                c3 = Vector512.FusedMultiplyAdd(c3, y, x); c4 = Vector512.FusedMultiplyAdd(c4, y, x); c5 = Vector512.FusedMultiplyAdd(c5, y, x);
                c6 = Vector512.FusedMultiplyAdd(c6, y, x); c7 = Vector512.FusedMultiplyAdd(c7, y, x); c8 = Vector512.FusedMultiplyAdd(c8, y, x);
                c9 = Vector512.FusedMultiplyAdd(c9, y, x); c10 = Vector512.FusedMultiplyAdd(c10, y, x); c11 = Vector512.FusedMultiplyAdd(c11, y, x);
            }
            sink = (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11)[0];
            return 12 * 2 * Vector512<float>.Count;
        }
        else
        {
            Vector256<float> x = Vector256.Create(1.0000001f), y = Vector256.Create(0.9999999f);
            Vector256<float> c0 = x, c1 = x, c2 = x, c3 = x, c4 = x, c5 = x, c6 = x, c7 = x, c8 = x, c9 = x, c10 = x, c11 = x;
            for (long i = 0; i < steps; i++)
            {
                c0 = Vector256.FusedMultiplyAdd(c0, y, x); c1 = Vector256.FusedMultiplyAdd(c1, y, x); c2 = Vector256.FusedMultiplyAdd(c2, y, x);
                c3 = Vector256.FusedMultiplyAdd(c3, y, x); c4 = Vector256.FusedMultiplyAdd(c4, y, x); c5 = Vector256.FusedMultiplyAdd(c5, y, x);
                c6 = Vector256.FusedMultiplyAdd(c6, y, x); c7 = Vector256.FusedMultiplyAdd(c7, y, x); c8 = Vector256.FusedMultiplyAdd(c8, y, x);
                c9 = Vector256.FusedMultiplyAdd(c9, y, x); c10 = Vector256.FusedMultiplyAdd(c10, y, x); c11 = Vector256.FusedMultiplyAdd(c11, y, x);
            }
            sink = (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11)[0];
            return 12 * 2 * Vector256<float>.Count;
        }
    }

    /// <summary>Best of five copies of 64 MiB (far past any cache) on the bench's threads: bytes read plus written per second.</summary>
    private static unsafe double CopyGBytesPerSecond()
    {
        const int bytes = 64 << 20;
        void* source = NativeMemory.AlignedAlloc(bytes, 64), destination = NativeMemory.AlignedAlloc(bytes, 64);
        try
        {
            new Span<byte>(source, bytes).Fill(1);
            new Span<byte>(destination, bytes).Clear();
            double best = double.MaxValue;
            for (int i = 0; i < 5; i++)
            {
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                MemoryBandwidth.Copy(source, destination, bytes);
                best = Math.Min(best, System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
            return 2.0 * bytes / best / 1e9;
        }
        finally
        {
            NativeMemory.AlignedFree(source);
            NativeMemory.AlignedFree(destination);
        }
    }

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
