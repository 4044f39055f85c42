using System.Globalization;
using System.Security;
using System.Text;

namespace Tensorium.Bench;

/// <summary>
/// The picture of an alternating run (<c>./build.sh bench --alternating [steps]</c>), written beside
/// BenchmarkDotNet's reports: per case, the median of the rounds' speed-ups as a dot and the middle
/// rounds' spread as a bar, on a log axis with lines at parity and at the speed goal. The spread
/// is what a single figure hides: on a shared machine a case whose bar straddles the goal line
/// can read either side of it in one run.
/// </summary>
public static class AlternatingChart
{
    private const int Width = 820, LabelWidth = 170, NumbersWidth = 150, Top = 56, RowHeight = 30, Bottom = 64;

    /// <summary>Ticks the axis may show (it shows those inside its range).</summary>
    private static readonly double[] Ticks = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64];

    /// <summary>Pixels between two ticks' centres, so that labels such as "1.25x" do not run into each other.</summary>
    private const double MinTickGap = 40;

    /// <summary>
    /// Writes <c>BenchmarkDotNet.Artifacts/results/<paramref name="name"/>.svg</c> and returns its path.
    /// </summary>
    /// <param name="name">The file's name without extension: "alternating-gemm".</param>
    /// <param name="title">The chart's heading.</param>
    /// <param name="reference">Whom the ratios compare with: "OpenBLAS", "PyTorch".</param>
    /// <param name="goal">The speed-up the cases should reach (a dashed line; 1 draws only parity).</param>
    /// <param name="rows">Each case's label and what its rounds measured.</param>
    public static string Write(string name, string title, string reference, double goal, IReadOnlyList<(string Label, AlternatingResult Result)> rows)
    {
        string folder = Path.Combine("BenchmarkDotNet.Artifacts", "results");
        Directory.CreateDirectory(folder);
        string path = Path.GetFullPath(Path.Combine(folder, name + ".svg"));
        File.WriteAllText(path, Svg(title, reference, goal, rows));
        return path;
    }

    private static string Svg(string title, string reference, double goal, IReadOnlyList<(string Label, AlternatingResult Result)> measured)
    {
        // A ratio that is not a positive number (a failed timing) has no place on a log axis: left out.
        static bool Drawable(double ratio) => double.IsFinite(ratio) && ratio > 0;
        var rows = measured.Where(r => Drawable(r.Result.LowRatio) && Drawable(r.Result.RoundRatio) && Drawable(r.Result.HighRatio)).ToList();
        // The axis (log scale, base 2) spans every bar, parity and the goal, with a 15% margin each side.
        double low = Math.Min(Math.Min(1, goal), rows.Count == 0 ? 1 : rows.Min(r => r.Result.LowRatio)) / 1.15;
        double high = Math.Max(Math.Max(1, goal), rows.Count == 0 ? 1 : rows.Max(r => r.Result.HighRatio)) * 1.15;
        int height = Top + RowHeight * rows.Count + Bottom;
        double plotLeft = LabelWidth, plotRight = Width - NumbersWidth;
        double X(double ratio) => plotLeft + (Math.Log2(ratio) - Math.Log2(low)) / (Math.Log2(high) - Math.Log2(low)) * (plotRight - plotLeft);
        static string F(double v, string format = "0.#") => v.ToString(format, CultureInfo.InvariantCulture);

        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append($"<rect width=\"{Width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append($"<text x=\"12\" y=\"24\" font-size=\"15\">{SecurityElement.Escape(title)}</text>\n");
        svg.Append($"<text x=\"{F(plotRight + 10)}\" y=\"{Top - 10}\" fill=\"#555\">median (middle)</text>\n");

        // Grid and axis labels, then parity and the goal over them.
        double axisY = Top + RowHeight * rows.Count;
        foreach (double t in AxisTicks(low, high, X))
            svg.Append($"<line x1=\"{F(X(t))}\" y1=\"{Top - 4}\" x2=\"{F(X(t))}\" y2=\"{F(axisY)}\" stroke=\"#eee\"/>" +
                       $"<text x=\"{F(X(t))}\" y=\"{F(axisY + 16)}\" text-anchor=\"middle\">{F(t, "0.##")}x</text>\n");
        svg.Append($"<line x1=\"{F(X(1))}\" y1=\"{Top - 4}\" x2=\"{F(X(1))}\" y2=\"{F(axisY)}\" stroke=\"#888\"/>\n");
        if (goal != 1)
            svg.Append($"<line x1=\"{F(X(goal))}\" y1=\"{Top - 4}\" x2=\"{F(X(goal))}\" y2=\"{F(axisY)}\" stroke=\"#2a8a2a\" stroke-dasharray=\"5,4\"/>" +
                       $"<text x=\"{F(X(goal) + 4)}\" y=\"{Top - 10}\" fill=\"#2a8a2a\">goal {F(goal, "0.##")}x</text>\n");
        svg.Append($"<text x=\"{F((plotLeft + plotRight) / 2)}\" y=\"{F(axisY + 36)}\" text-anchor=\"middle\">" +
                   $"speed-up: {SecurityElement.Escape(reference)} time / Tensorium time (log scale; right of 1x, Tensorium is faster)</text>\n");
        svg.Append($"<text x=\"{F(plotLeft)}\" y=\"{F(axisY + 54)}\" fill=\"#555\" font-size=\"11\">" +
                   $"dot: median of the rounds' own ratios; bar: the middle ones ({Ordinal(AlternatingRounds.Rounds / 4 + 1)} to " +
                   $"{Ordinal(AlternatingRounds.Rounds * 3 / 4 + 1)} of {AlternatingRounds.Rounds}, sorted)</text>\n");

        for (int i = 0; i < rows.Count; i++)
        {
            var (label, r) = rows[i];
            double y = Top + RowHeight * i + RowHeight / 2.0;
            string color = r.RoundRatio >= goal ? "#1f5fbf" : "#d0451b";
            svg.Append($"<text x=\"{LabelWidth - 10}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{SecurityElement.Escape(label)}</text>\n");
            svg.Append($"<line x1=\"{F(X(r.LowRatio))}\" y1=\"{F(y)}\" x2=\"{F(X(r.HighRatio))}\" y2=\"{F(y)}\" stroke=\"{color}\" stroke-opacity=\"0.35\" stroke-width=\"8\" stroke-linecap=\"round\"/>" +
                       $"<circle cx=\"{F(X(r.RoundRatio))}\" cy=\"{F(y)}\" r=\"5\" fill=\"{color}\"/>\n");
            svg.Append($"<text x=\"{F(plotRight + 10)}\" y=\"{F(y + 4)}\" fill=\"{color}\">{F(r.RoundRatio, "0.00")}x ({F(r.LowRatio, "0.00")}-{F(r.HighRatio, "0.00")})</text>\n");
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>
    /// The ticks inside [low, high] that leave room for their labels: 1x first, then the others
    /// from the list wherever they fall at least <see cref="MinTickGap"/> pixels from every tick kept.
    /// </summary>
    private static List<double> AxisTicks(double low, double high, Func<double, double> x)
    {
        var kept = new List<double> { 1 };
        foreach (double t in Ticks.Where(t => t >= low && t <= high && t != 1))
            if (kept.All(k => Math.Abs(x(t) - x(k)) >= MinTickGap)) kept.Add(t);
        return kept;
    }

    /// <summary>"3rd", "9th": which of the sorted rounds the bar ends at.</summary>
    private static string Ordinal(int n) => n + (n % 100 is 11 or 12 or 13 ? "th" : (n % 10) switch { 1 => "st", 2 => "nd", 3 => "rd", _ => "th" });
}
