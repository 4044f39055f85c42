namespace Tensorium.Layers;

/// <summary>Which way a monitored value should move (Keras's <c>mode</c>).</summary>
public enum MonitorMode
{
    /// <summary>
    /// From what the value is: "loss" and "val_loss" fall; a metric of the trainer ("accuracy",
    /// "val_f1_score", ...) moves the way its <see cref="IMetric.HigherIsBetter"/> says. Anything
    /// else is an error asking for <see cref="Min"/> or <see cref="Max"/>.
    /// </summary>
    Auto,
    /// <summary>Lower is better.</summary>
    Min,
    /// <summary>Higher is better.</summary>
    Max,
}

/// <summary>
/// The best value so far of one entry of the epoch logs, for the callbacks that watch one
/// (<see cref="EarlyStopping"/>, <see cref="ModelCheckpoint"/>): it reads the entry, decides
/// whether it improved by more than a margin, and remembers the best value and its epoch.
/// </summary>
internal sealed class MonitoredQuantity(string callback, string monitor, MonitorMode mode, double minDelta)
{
    private bool? _higherIsBetter;

    /// <summary>The best value seen, NaN before the first.</summary>
    public double Best { get; private set; } = double.NaN;

    /// <summary>The epoch (1-based) of <see cref="Best"/>, or 0.</summary>
    public int BestEpoch { get; private set; }

    /// <summary>Whether a higher value is better, once resolved against a trainer.</summary>
    public bool HigherIsBetter(Trainer trainer) => _higherIsBetter ??= Resolve(trainer);

    /// <summary>Forgets the best value (a new Fit).</summary>
    public void Reset()
    {
        Best = double.NaN;
        BestEpoch = 0;
        _higherIsBetter = null;
    }

    /// <summary>
    /// The monitored value in <paramref name="logs"/>, and whether it beats the best by more
    /// than the margin (the first finite value always does; NaN never does). An improvement
    /// becomes the new best.
    /// </summary>
    public (double Value, bool Improved) Update(int epoch, IReadOnlyDictionary<string, double> logs, Trainer trainer)
    {
        var (value, improved) = Check(logs, trainer);
        if (improved) Accept(epoch, value);
        return (value, improved);
    }

    /// <summary>As <see cref="Update"/>, without recording the improvement: for a caller that must first act on it (save a file) and <see cref="Accept"/> it only once that worked.</summary>
    public (double Value, bool Improved) Check(IReadOnlyDictionary<string, double> logs, Trainer trainer)
    {
        if (!logs.TryGetValue(monitor, out double value))
            throw new InvalidOperationException($"{callback}: '{monitor}' is not in the epoch logs (have: {string.Join(", ", logs.Keys)}).");
        bool higher = HigherIsBetter(trainer);
        bool improved = !double.IsNaN(value)
            && (double.IsNaN(Best) || (higher ? value > Best + minDelta : value < Best - minDelta));
        return (value, improved);
    }

    /// <summary>Records <paramref name="value"/> of <paramref name="epoch"/> as the best.</summary>
    public void Accept(int epoch, double value) => (Best, BestEpoch) = (value, epoch);

    private bool Resolve(Trainer trainer)
    {
        if (mode == MonitorMode.Min) return false;
        if (mode == MonitorMode.Max) return true;
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), $"{callback}: unknown monitor mode {mode}.");
        string name = monitor.StartsWith("val_", StringComparison.Ordinal) ? monitor["val_".Length..] : monitor;
        if (name == "loss") return false;
        var metric = trainer.Metrics.FirstOrDefault(m => m.Name == name)
            ?? throw new InvalidOperationException($"{callback}: cannot tell whether '{monitor}' should rise or fall: it is neither the loss nor one of the trainer's metrics ({string.Join(", ", trainer.Metrics.Select(m => m.Name))}); pass mode: MonitorMode.Min or MonitorMode.Max.");
        return metric.HigherIsBetter;
    }
}
