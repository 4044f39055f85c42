using System.Diagnostics;
using System.Globalization;

namespace Tensorium.Layers;

/// <summary>
/// A Keras-style progress line per epoch: bar, step count, running loss and metrics, samples per
/// second and ETA. On a terminal it redraws one line; when output is redirected (CI logs) it
/// prints a line every tenth of the epoch instead of thousands of carriage returns.
/// </summary>
public sealed class ProgressBar
{
    private readonly string _label;
    private readonly int _steps;
    private readonly TextWriter _out;
    private readonly bool _redraw;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _lastPrintedTenth = -1;

    /// <summary>Starts a bar for <paramref name="steps"/> steps.</summary>
    public ProgressBar(string label, int steps, TextWriter? output = null)
    {
        _label = label;
        _steps = Math.Max(steps, 1);
        _out = output ?? Console.Out;
        _redraw = output == null && !Console.IsOutputRedirected;
    }

    /// <summary>Seconds since the bar started.</summary>
    public double Elapsed => _clock.Elapsed.TotalSeconds;

    /// <summary>Reports that <paramref name="step"/> steps (1-based) are done, covering <paramref name="samples"/> samples.</summary>
    public void Update(int step, long samples, IReadOnlyDictionary<string, double> values)
    {
        int tenth = step * 10 / _steps;
        bool last = step >= _steps;
        if (!_redraw && tenth == _lastPrintedTenth && !last) return;
        if (_redraw && !last && step % Math.Max(1, _steps / 200) != 0) return;
        _lastPrintedTenth = tenth;
        double seconds = Elapsed, rate = samples / Math.Max(seconds, 1e-9);
        double eta = seconds / step * (_steps - step);
        int filled = (int)(30.0 * step / _steps);
        string bar = new string('=', Math.Max(0, filled - 1)) + (filled > 0 ? (last ? "=" : ">") : "") + new string('.', 30 - filled);
        string metrics = string.Join("  ", values.Select(kv => $"{kv.Key} {kv.Value.ToString("F4", CultureInfo.InvariantCulture)}"));
        string time = last ? $"{seconds:F1}s" : $"ETA {eta:F0}s";
        string line = $"{_label} [{bar}] {step}/{_steps}  {metrics}  {rate:N0} samples/s  {time}";
        if (_redraw) _out.Write("\r" + line.PadRight(Console.WindowWidth > 0 ? Math.Min(Console.WindowWidth - 1, 160) : 0) + (last ? "\n" : ""));
        else _out.WriteLine(line);
    }
}
