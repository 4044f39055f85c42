using System.Globalization;
using System.Text;

namespace Tensorium.Layers;

/// <summary>
/// Counts of (actual class, predicted class) over the batches since <see cref="Reset"/>, the
/// predicted class being the argmax of the scores: pass it among a <see cref="Trainer"/>'s
/// metrics and, after <see cref="Trainer.Evaluate"/>, print it (<see cref="ToString"/>), draw it
/// (<see cref="WriteSvg"/>) or read per-class <see cref="Precision"/>, <see cref="Recall"/> and
/// <see cref="F1"/>. Rows are actual classes, columns predicted ones (as sklearn's
/// confusion_matrix). Like every metric it holds the last pass: after Fit, the last validation
/// (or, without one, the last training epoch). Its value is a table, so it is not logged.
/// </summary>
public sealed class ConfusionMatrix : IMetric
{
    private long[,]? _counts;
    private readonly IReadOnlyList<string>? _names;

    /// <summary>
    /// A matrix for <paramref name="classes"/> classes, or for as many as the predictions' last
    /// dim when null; <paramref name="classNames"/> label the rows and columns (e.g.
    /// <c>FashionMnist.ClassNames</c>), class numbers otherwise.
    /// </summary>
    public ConfusionMatrix(int? classes = null, IReadOnlyList<string>? classNames = null)
    {
        if (classes is < 2)
            throw new ArgumentOutOfRangeException(nameof(classes), $"ConfusionMatrix: expected at least 2 classes, got {classes}.");
        if (classNames != null && classes != null && classNames.Count != classes)
            throw new ArgumentException($"ConfusionMatrix: {classNames.Count} class names for {classes} classes.", nameof(classNames));
        _names = classNames;
        int? count = classes ?? classNames?.Count;
        if (count != null) _counts = new long[count.Value, count.Value];
    }

    /// <inheritdoc />
    public string Name => "confusion_matrix";

    /// <inheritdoc />
    public bool Logged => false;

    /// <summary>Number of classes (0 until the first batch when it was not given).</summary>
    public int Classes => _counts?.GetLength(0) ?? 0;

    /// <summary>The class labels used in the printed and drawn matrix.</summary>
    public IReadOnlyList<string> ClassNames => _names ?? Enumerable.Range(0, Classes).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();

    /// <summary>Examples of class <paramref name="actual"/> predicted as <paramref name="predicted"/>.</summary>
    public long this[int actual, int predicted] => _counts?[actual, predicted]
        ?? throw new InvalidOperationException("ConfusionMatrix: no batch seen yet, so the number of classes is unknown.");

    /// <summary>Examples counted.</summary>
    public long Total { get; private set; }

    /// <summary>The fraction on the diagonal (the accuracy of the argmax).</summary>
    public double Result => Total == 0 ? 0 : Enumerable.Range(0, Classes).Sum(c => _counts![c, c]) / (double)Total;

    /// <inheritdoc />
    public void Reset()
    {
        if (_counts != null) Array.Clear(_counts);
        Total = 0;
    }

    /// <inheritdoc />
    public void Update(Tensor prediction, Tensor target)
    {
        var (scores, labels) = ClassLabels.Flatten(Name, prediction, target);
        using (scores)
        using (labels)
        using (Tape.NoGrad())
        {
            int classes = scores.Size(1);
            _counts ??= new long[classes, classes];
            if (classes != Classes)
                throw new ArgumentException($"{Name}: predictions have {classes} classes, expected {Classes}.");
            // onehot(actual)^T @ onehot(predicted) is the batch's matrix: every count is a sum of
            // ones, exact in float32 (and in TF32, whose inputs 0 and 1 lose nothing).
            using var predicted = scores.ArgMax(-1);
            using var actualRows = labels.OneHot(classes, scores.DType);
            using var predictedRows = predicted.OneHot(classes, scores.DType);
            using var actualColumns = actualRows.Transpose(0, 1);
            using var batch = actualColumns.MatMul(predictedRows);
            var counts = batch.ToDoubleArray();
            for (int a = 0; a < classes; a++)
                for (int p = 0; p < classes; p++)
                    _counts[a, p] += (long)Math.Round(counts[a * classes + p]);
            Total += labels.Count;
        }
    }

    /// <summary>Examples actually of class <paramref name="c"/> (the row's sum).</summary>
    public long Support(int c) => Row(c).Sum();

    /// <summary>Of the examples predicted as class <paramref name="c"/>, the fraction that are; 0 when none is.</summary>
    public double Precision(int c)
    {
        long predicted = Enumerable.Range(0, Classes).Sum(a => this[a, c]);
        return predicted == 0 ? 0 : (double)this[c, c] / predicted;
    }

    /// <summary>Of the examples of class <paramref name="c"/>, the fraction predicted as such; 0 when there are none.</summary>
    public double Recall(int c)
    {
        long actual = Support(c);
        return actual == 0 ? 0 : (double)this[c, c] / actual;
    }

    /// <summary>The harmonic mean of <see cref="Precision"/> and <see cref="Recall"/> of class <paramref name="c"/>; 0 when both are.</summary>
    public double F1(int c)
    {
        double p = Precision(c), r = Recall(c);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    private IEnumerable<long> Row(int actual) => Enumerable.Range(0, Classes).Select(p => this[actual, p]);

    /// <summary>
    /// The matrix as a text table, actual classes down, predicted across (by class number), then
    /// each class's precision, recall, F1 and support, as sklearn's classification_report.
    /// </summary>
    public override string ToString()
    {
        if (_counts == null) return "ConfusionMatrix: no batch seen yet";
        const string corner = "actual \\ predicted";
        var labels = ClassNames.Select((n, c) => $"{c,2} {n}").ToList();
        int nameWidth = Math.Max(corner.Length, labels.Max(l => l.Length)) + 2;
        int cell = Math.Max(5, Enumerable.Range(0, Classes).SelectMany(Row).Max().ToString(CultureInfo.InvariantCulture).Length + 1);
        var sb = new StringBuilder();
        sb.Append(corner.PadRight(nameWidth));
        for (int p = 0; p < Classes; p++) sb.Append(p.ToString(CultureInfo.InvariantCulture).PadLeft(cell));
        sb.AppendLine();
        for (int a = 0; a < Classes; a++)
        {
            sb.Append(labels[a].PadRight(nameWidth));
            for (int p = 0; p < Classes; p++) sb.Append(this[a, p].ToString(CultureInfo.InvariantCulture).PadLeft(cell));
            sb.AppendLine();
        }
        sb.AppendLine();
        sb.AppendLine($"{"class".PadRight(nameWidth)}{"precision",10}{"recall",10}{"f1",10}{"support",10}");
        for (int c = 0; c < Classes; c++)
            sb.AppendLine(CultureInfo.InvariantCulture, $"{labels[c].PadRight(nameWidth)}{Precision(c),10:F4}{Recall(c),10:F4}{F1(c),10:F4}{Support(c),10}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"accuracy".PadRight(nameWidth)}{"",20}{Result,10:F4}{Total,10}");
        return sb.ToString();
    }

    /// <summary>
    /// Draws the matrix as an SVG heat map: each cell shaded by the fraction of its actual class
    /// (its row) that was predicted as the column's class, with the count written in it; actual
    /// classes down the left, predicted ones along the bottom.
    /// </summary>
    public void WriteSvg(string path, string title = "Confusion matrix")
    {
        if (_counts == null) throw new InvalidOperationException("ConfusionMatrix.WriteSvg: no batch seen yet, nothing to draw.");
        var names = ClassNames.Select(Escape).ToList();
        const int cell = 44, top = 50;
        int left = 20 + 7 * names.Max(n => n.Length) + 10;
        int size = cell * Classes;
        int width = left + size + 30, height = top + size + 20 + 7 * names.Max(n => n.Length) + 30;
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        sb.Append(inv, $"<text x=\"{left}\" y=\"22\" font-size=\"15\">{Escape(title)}</text>\n");
        for (int a = 0; a < Classes; a++)
        {
            long rowTotal = Support(a);
            for (int p = 0; p < Classes; p++)
            {
                double share = rowTotal == 0 ? 0 : (double)this[a, p] / rowTotal;
                // White to dark blue; dark cells get white text.
                int r = (int)(255 - share * (255 - 8)), g = (int)(255 - share * (255 - 48)), b = (int)(255 - share * (255 - 107));
                int x = left + p * cell, y = top + a * cell;
                sb.Append(inv, $"<rect x=\"{x}\" y=\"{y}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgb({r},{g},{b})\" stroke=\"#ddd\"><title>{names[a]} predicted as {names[p]}: {this[a, p]} ({share:P1})</title></rect>\n");
                sb.Append(inv, $"<text x=\"{x + cell / 2}\" y=\"{y + cell / 2 + 4}\" text-anchor=\"middle\" fill=\"{(share > 0.5 ? "white" : "black")}\">{this[a, p]}</text>\n");
            }
            sb.Append(inv, $"<text x=\"{left - 6}\" y=\"{top + a * cell + cell / 2 + 4}\" text-anchor=\"end\">{names[a]}</text>\n");
        }
        for (int p = 0; p < Classes; p++)
        {
            int x = left + p * cell + cell / 2, y = top + size + 8;
            sb.Append(inv, $"<text x=\"{x}\" y=\"{y}\" text-anchor=\"end\" transform=\"rotate(-45 {x} {y})\">{names[p]}</text>\n");
        }
        sb.Append(inv, $"<text x=\"12\" y=\"{top + size / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 12 {top + size / 2})\">actual</text>\n");
        sb.Append(inv, $"<text x=\"{left + size / 2}\" y=\"{height - 8}\" text-anchor=\"middle\">predicted</text>\n");
        sb.Append("</svg>\n");
        Data.AtomicFile.Write(path, "ConfusionMatrix", stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(sb.ToString());
        });
    }

    private static string Escape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);
}
