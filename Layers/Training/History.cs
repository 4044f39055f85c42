using System.Globalization;
using System.Text;

namespace Tensorium.Layers;

/// <summary>What <see cref="Trainer.Fit"/> returns: one row of named values per epoch (loss, accuracy, val_loss, ...).</summary>
public sealed class History
{
    private readonly List<Dictionary<string, double>> _epochs = new();

    /// <summary>The rows, epoch 1 first.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, double>> Epochs => _epochs;

    /// <summary>One column over all epochs (NaN where an epoch lacks it).</summary>
    public double[] this[string name] => _epochs.Select(e => e.TryGetValue(name, out var v) ? v : double.NaN).ToArray();

    /// <summary>The column names in first-seen order.</summary>
    public IReadOnlyList<string> Columns => _epochs.SelectMany(e => e.Keys).Distinct().ToList();

    /// <summary>Appends a row (an epoch, or an evaluation round of a hand-written training loop), copied.</summary>
    public void Add(IReadOnlyDictionary<string, double> epoch) => _epochs.Add(new Dictionary<string, double>(epoch));

    /// <summary>Writes "epoch,loss,accuracy,..." CSV.</summary>
    public void WriteCsv(string path)
    {
        var sb = new StringBuilder("epoch," + string.Join(",", Columns) + "\n");
        for (int i = 0; i < _epochs.Count; i++)
            sb.Append(i + 1).Append(',').AppendJoin(",", Columns.Select(c => _epochs[i].TryGetValue(c, out var v) ? v.ToString("G6", CultureInfo.InvariantCulture) : "")).Append('\n');
        WriteText(path, sb.ToString());
    }

    /// <summary>
    /// Draws the curves as an SVG image: the loss columns on the left panel, the others
    /// (accuracy, ...) on the right, epoch on the x axis. Every epoch is a marked point on its
    /// curve (so a one-epoch run shows its values too), and each panel's legend sits under the
    /// panel, where it cannot hide a curve.
    /// </summary>
    public void WriteSvg(string path, string title = "Training history")
    {
        var losses = Columns.Where(c => c.Contains("loss")).ToList();
        var others = Columns.Where(c => !c.Contains("loss") && c != "seconds").ToList();
        const int panelW = 420, panelH = 300, margin = 50;
        int legendRows = Math.Max(LegendLayout(losses, panelW).Rows, LegendLayout(others, panelW).Rows);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{2 * panelW + 3 * margin}\" height=\"{panelH + 2 * margin + 30 + LegendRowHeight * legendRows}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{margin}\" y=\"20\" font-size=\"15\">{Escape(title)}</text>\n");
        Panel(sb, losses, margin, margin, panelW, panelH, "loss");
        Panel(sb, others, 2 * margin + panelW, margin, panelW, panelH, "metric");
        sb.Append("</svg>\n");
        WriteText(path, sb.ToString());
    }

    private const int LegendRowHeight = 18;

    /// <summary>Where each legend entry goes under a panel of width <paramref name="width"/>: entries side by side, wrapping to a new row when full.</summary>
    private static (List<(int X, int Row)> Places, int Rows) LegendLayout(List<string> columns, int width)
    {
        var places = new List<(int X, int Row)>();
        int x = 0, row = 0;
        foreach (var name in columns)
        {
            int entry = 30 + 7 * name.Length + 16;   // line sample, text at about 7 px a character, gap
            if (x > 0 && x + entry > width) (x, row) = (0, row + 1);
            places.Add((x, row));
            x += entry;
        }
        return (places, columns.Count == 0 ? 0 : row + 1);
    }

    private void Panel(StringBuilder sb, List<string> columns, int x0, int y0, int w, int h, string label)
    {
        string[] colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"];
        var values = columns.SelectMany(c => this[c]).Where(double.IsFinite).ToList();
        double lo = values.Count > 0 ? values.Min() : 0, hi = values.Count > 0 ? values.Max() : 1;
        if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
        // A little room above and below, so that markers on the extremes are not cut by the frame.
        double pad = (hi - lo) * 0.05;
        (lo, hi) = (lo - pad, hi + pad);
        int count = _epochs.Count;
        // One epoch sits in the middle; more spread from the left edge to the right one.
        string X(int i) => (count == 1 ? x0 + w / 2.0 : x0 + (double)i / (count - 1) * w).ToString("F1", CultureInfo.InvariantCulture);
        string Y(double v) => (y0 + h - (v - lo) / (hi - lo) * h).ToString("F1", CultureInfo.InvariantCulture);
        sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x0}\" y=\"{y0}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"#999\"/>\n");
        for (int t = 0; t <= 4; t++)
        {
            double v = lo + (hi - lo) * t / 4;
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x0 - 5}\" y=\"{Y(v)}\" text-anchor=\"end\">{v:G3}</text>\n");
        }
        // Label every epoch up to 20, then about 10 evenly spaced ones.
        int every = Math.Max(1, (int)Math.Ceiling(count / 10.0));
        for (int i = 0; i < count; i++)
            if (count <= 20 || i % every == 0 || i == count - 1)
                sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(i)}\" y=\"{y0 + h + 15}\" text-anchor=\"middle\">{i + 1}</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x0 + w / 2}\" y=\"{y0 + h + 32}\" text-anchor=\"middle\">epoch</text>\n");
        var (places, _) = LegendLayout(columns, w);
        for (int c = 0; c < columns.Count; c++)
        {
            var ys = this[columns[c]];
            string color = colors[c % colors.Length];
            var points = ys.Select((v, i) => (v, i)).Where(p => double.IsFinite(p.v)).Select(p => (X: X(p.i), Y: Y(p.v))).ToList();
            sb.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{string.Join(" ", points.Select(p => $"{p.X},{p.Y}"))}\"/>\n");
            foreach (var (px, py) in points)
                sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{px}\" cy=\"{py}\" r=\"3.5\" fill=\"{color}\"/>\n");
            int lx = x0 + places[c].X, ly = y0 + h + 52 + LegendRowHeight * places[c].Row;
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{lx}\" y1=\"{ly - 4}\" x2=\"{lx + 24}\" y2=\"{ly - 4}\" stroke=\"{color}\" stroke-width=\"2\"/>\n");
            sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{lx + 12}\" cy=\"{ly - 4}\" r=\"3.5\" fill=\"{color}\"/>\n");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{lx + 30}\" y=\"{ly}\" fill=\"{color}\">{Escape(columns[c])}</text>\n");
        }
        if (columns.Count == 0)
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x0 + w / 2}\" y=\"{y0 + h / 2}\" text-anchor=\"middle\">no {label} columns</text>\n");
    }

    private static string Escape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    private static void WriteText(string path, string text) =>
        Data.AtomicFile.Write(path, "History", stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(text);
        });
}
