namespace Tensorium.Layers;

/// <summary>Hooks into <see cref="Trainer.Fit"/> at the end of each epoch.</summary>
public interface ICallback
{
    /// <summary>Called with the epoch's logs (loss, metrics, val_*); return true to stop training.</summary>
    bool OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, Trainer trainer);
}

/// <summary>Stops when <see cref="Monitor"/> has not improved by <see cref="MinDelta"/> for <see cref="Patience"/> epochs (Keras EarlyStopping).</summary>
public sealed class EarlyStopping(string monitor = "val_loss", int patience = 2, double minDelta = 0) : ICallback
{
    private double _best = double.NaN;
    private int _wait;

    /// <summary>The logged value watched; names containing "loss" are minimised, others maximised.</summary>
    public string Monitor { get; } = monitor;
    /// <summary>Epochs without improvement tolerated.</summary>
    public int Patience { get; } = patience;
    /// <summary>Smallest change that counts as an improvement.</summary>
    public double MinDelta { get; } = minDelta;
    /// <summary>The epoch (1-based) training stopped after, or 0.</summary>
    public int StoppedEpoch { get; private set; }

    /// <inheritdoc />
    public bool OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, Trainer trainer)
    {
        if (!logs.TryGetValue(Monitor, out double value))
            throw new InvalidOperationException($"EarlyStopping: '{Monitor}' is not in the epoch logs (have: {string.Join(", ", logs.Keys)}).");
        bool minimise = Monitor.Contains("loss");
        bool improved = double.IsNaN(_best) || (minimise ? value < _best - MinDelta : value > _best + MinDelta);
        if (improved) { _best = value; _wait = 0; return false; }
        if (++_wait < Patience) return false;
        StoppedEpoch = epoch;
        return true;
    }
}

/// <summary>Saves the model after an epoch through a user-supplied writer (e.g. a safetensors checkpoint), optionally only when <see cref="Monitor"/> improves.</summary>
public sealed class ModelCheckpoint(Action<Trainer, int> save, string monitor = "val_loss", bool saveBestOnly = true) : ICallback
{
    private double _best = double.NaN;

    /// <summary>The logged value that decides "best".</summary>
    public string Monitor { get; } = monitor;

    /// <inheritdoc />
    public bool OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, Trainer trainer)
    {
        if (saveBestOnly)
        {
            if (!logs.TryGetValue(Monitor, out double value))
                throw new InvalidOperationException($"ModelCheckpoint: '{Monitor}' is not in the epoch logs (have: {string.Join(", ", logs.Keys)}).");
            bool minimise = Monitor.Contains("loss");
            if (!double.IsNaN(_best) && (minimise ? value >= _best : value <= _best)) return false;
            _best = value;
        }
        save(trainer, epoch);
        return false;
    }
}
