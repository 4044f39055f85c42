namespace Tensorium.Layers;

/// <summary>
/// Stops training when <see cref="Monitor"/> has not improved by more than
/// <see cref="MinDelta"/> for <see cref="Patience"/> epochs, as Keras's EarlyStopping; with
/// <c>restoreBestWeights</c> it keeps a copy of the weights of the best epoch and puts them back
/// into the model when training ends (stopped early or not), as Keras 3 does. Whether the value
/// should fall or rise comes from <c>mode</c> (by default: the loss falls, a metric moves the way
/// its <see cref="IMetric.HigherIsBetter"/> says). Dispose it to free a copy that was never
/// restored (a Fit that threw).
/// </summary>
public sealed class EarlyStopping : ICallback, IDisposable
{
    private readonly MonitoredQuantity _monitor;
    private Dictionary<string, Tensor>? _bestWeights;
    private int _wait;

    /// <summary>Watches <paramref name="monitor"/> in the epoch logs.</summary>
    /// <param name="monitor">The logged value watched ("val_loss", "val_accuracy", "loss", ...).</param>
    /// <param name="patience">Epochs in a row without improvement after which training stops (0 or 1: the first).</param>
    /// <param name="minDelta">Smallest change that counts as an improvement.</param>
    /// <param name="mode">Whether lower or higher is better; <see cref="MonitorMode.Auto"/> asks the trainer.</param>
    /// <param name="restoreBestWeights">Whether the model ends with the weights of its best epoch rather than its last.</param>
    public EarlyStopping(string monitor = "val_loss", int patience = 2, double minDelta = 0, MonitorMode mode = MonitorMode.Auto,
        bool restoreBestWeights = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(monitor);
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), $"EarlyStopping: expected a patience of 0 or more epochs, got {patience}.");
        if (minDelta < 0 || double.IsNaN(minDelta)) throw new ArgumentOutOfRangeException(nameof(minDelta), $"EarlyStopping: expected minDelta >= 0, got {minDelta}.");
        Monitor = monitor;
        Patience = patience;
        MinDelta = minDelta;
        RestoreBestWeights = restoreBestWeights;
        _monitor = new MonitoredQuantity("EarlyStopping", monitor, mode, minDelta);
    }

    /// <summary>The logged value watched.</summary>
    public string Monitor { get; }
    /// <summary>Epochs in a row without improvement after which training stops.</summary>
    public int Patience { get; }
    /// <summary>Smallest change that counts as an improvement.</summary>
    public double MinDelta { get; }
    /// <summary>Whether the best epoch's weights are put back when training ends.</summary>
    public bool RestoreBestWeights { get; }
    /// <summary>The epoch (1-based) training stopped after, or 0.</summary>
    public int StoppedEpoch { get; private set; }
    /// <summary>The epoch (1-based) with the best monitored value, or 0.</summary>
    public int BestEpoch => _monitor.BestEpoch;
    /// <summary>The best monitored value, NaN before the first epoch.</summary>
    public double Best => _monitor.Best;

    /// <inheritdoc />
    public void OnTrainBegin(Trainer trainer)
    {
        _monitor.Reset();
        _wait = 0;
        StoppedEpoch = 0;
        ReleaseBestWeights();
    }

    /// <inheritdoc />
    public bool OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, Trainer trainer)
    {
        var (_, improved) = _monitor.Update(epoch, logs, trainer);
        if (improved)
        {
            _wait = 0;
            if (RestoreBestWeights) KeepBestWeights(trainer.Model);
            return false;
        }
        if (++_wait < Patience) return false;   // Keras: stop once `patience` epochs in a row did not improve
        StoppedEpoch = epoch;
        trainer.Output?.WriteLine($"Epoch {epoch}: early stopping ({Monitor} has not improved for {_wait} epochs; best {Best:G6} at epoch {BestEpoch})");
        return true;
    }

    /// <inheritdoc />
    public void OnTrainEnd(Trainer trainer)
    {
        if (_bestWeights == null) return;
        trainer.Model.LoadStateDict(_bestWeights);
        trainer.Output?.WriteLine($"Restored the model weights from the end of the best epoch: {BestEpoch}.");
        ReleaseBestWeights();
    }

    /// <summary>Frees the copy of the best weights, if one is held.</summary>
    public void Dispose() => ReleaseBestWeights();

    /// <summary>Copies every parameter and buffer of <paramref name="model"/> (the copies are this callback's).</summary>
    private void KeepBestWeights(Module model)
    {
        var copies = new Dictionary<string, Tensor>();
        try
        {
            using (Tape.NoGrad())
                foreach (var (name, tensor) in model.NamedParameters().Concat(model.NamedBuffers()))
                {
                    var copy = tensor.To(tensor.DType);   // a contiguous copy, not a view
                    copy.OwnedByParent = true;            // an open TensorScope must not free it
                    copies[name] = copy;
                }
        }
        catch
        {
            foreach (var t in copies.Values) t.Dispose();
            throw;
        }
        ReleaseBestWeights();
        _bestWeights = copies;
    }

    private void ReleaseBestWeights()
    {
        if (_bestWeights == null) return;
        foreach (var t in _bestWeights.Values) t.Dispose();
        _bestWeights = null;
    }
}
