using System.Diagnostics;
using System.Globalization;

namespace Tensorium.Layers;

/// <summary>
/// A Keras-style progress line per epoch: bar, step count, running loss and metrics, samples per
/// second and ETA. On a terminal it redraws one line in place (carriage return); when output is
/// redirected (CI logs, a file) it prints a line every tenth of the epoch instead of thousands of
/// carriage returns.
/// </summary>
public sealed class ProgressBar
{
    /// <summary>
    /// Steps whose time the ETA ignores: the first ones include JIT compilation and buffer-pool
    /// warm-up, and an ETA taken from them said "ETA 348s" for a 15 s epoch.
    /// </summary>
    private const int WarmUpSteps = 2;

    private readonly string _label;
    private readonly int _steps;
    private readonly TextWriter _out;
    private readonly bool _terminal;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _lastPrintedTenth = -1;
    private double _warmUpSeconds = -1;
    private int _warmUpStep;
    private int _lastLineLength;

    /// <summary>Starts a bar for <paramref name="steps"/> steps.</summary>
    /// <param name="label">Printed before the bar, for example "Epoch 1/10".</param>
    /// <param name="steps">Steps in the epoch.</param>
    /// <param name="output">Where the bar goes; <see cref="Console.Out"/> when null.</param>
    /// <param name="terminal">
    /// Whether <paramref name="output"/> is a terminal, so that one line can be redrawn in place.
    /// When null: true exactly when the output is the console's and the console is not redirected.
    /// </param>
    public ProgressBar(string label, int steps, TextWriter? output = null, bool? terminal = null)
    {
        _label = label;
        _steps = Math.Max(steps, 1);
        _out = output ?? Console.Out;
        // Trainer passes Console.Out itself, so compare with it rather than test for null (the
        // bar used to redraw only when given no writer, that is never from Trainer).
        _terminal = terminal ?? (ReferenceEquals(_out, Console.Out) && !Console.IsOutputRedirected);
    }

    /// <summary>Seconds since the bar started.</summary>
    public double Elapsed => _clock.Elapsed.TotalSeconds;

    /// <summary>Reports that <paramref name="step"/> steps (1-based) are done, covering <paramref name="samples"/> samples.</summary>
    public void Update(int step, long samples, IReadOnlyDictionary<string, double> values)
    {
        double seconds = Elapsed;
        if (step <= WarmUpSteps) (_warmUpSeconds, _warmUpStep) = (seconds, step);
        int tenth = step * 10 / _steps;
        bool last = step >= _steps;
        if (!_terminal && tenth == _lastPrintedTenth && !last) return;
        // About 200 redraws per epoch at most: enough to look live, few enough to cost nothing.
        if (_terminal && !last && step > 1 && step % Math.Max(1, _steps / 200) != 0) return;
        _lastPrintedTenth = tenth;
        double rate = samples / Math.Max(seconds, 1e-9);
        int filled = (int)(30.0 * step / _steps);
        string bar = new string('=', Math.Max(0, filled - 1)) + (filled > 0 ? (last ? "=" : ">") : "") + new string('.', 30 - filled);
        string metrics = string.Join("  ", values.Select(kv => $"{kv.Key} {kv.Value.ToString("F4", CultureInfo.InvariantCulture)}"));
        string line = $"{_label} [{bar}] {step}/{_steps}  {metrics}  {rate:N0} samples/s{Time(step, seconds, last)}";
        if (!_terminal)
        {
            _out.WriteLine(line);
            return;
        }
        // A line wider than the terminal wraps, and "\r" then returns only to its last row.
        int width = ConsoleWidth();
        if (width > 1 && line.Length >= width) line = line[..(width - 1)];
        // Spaces cover what is left of a longer previous line.
        _out.Write("\r" + line.PadRight(_lastLineLength) + (last ? "\n" : ""));
        _out.Flush();
        _lastLineLength = line.Length;
    }

    /// <summary>"  12.3s" at the end; "  ETA 40s" once the warm-up steps are past; nothing before.</summary>
    private string Time(int step, double seconds, bool last)
    {
        if (last) return $"  {seconds.ToString("F1", CultureInfo.InvariantCulture)}s";
        if (_warmUpSeconds < 0 || step <= WarmUpSteps) return "";
        double eta = (seconds - _warmUpSeconds) / (step - _warmUpStep) * (_steps - step);
        return $"  ETA {eta.ToString("F0", CultureInfo.InvariantCulture)}s";
    }

    /// <summary>The console's width in columns when this bar writes to it; 0 when unknown.</summary>
    private int ConsoleWidth()
    {
        if (!ReferenceEquals(_out, Console.Out) || Console.IsOutputRedirected) return 0;
        try { return Console.WindowWidth; }
        catch (IOException) { return 0; }
    }
}
