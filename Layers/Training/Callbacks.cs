namespace Tensorium.Layers;

/// <summary>Hooks into <see cref="Trainer.Fit"/>: before the first epoch, after each, and after the last.</summary>
public interface ICallback
{
    /// <summary>Called once before the first epoch (reset state here, so one callback serves several Fit calls).</summary>
    void OnTrainBegin(Trainer trainer) { }

    /// <summary>Called with the epoch's logs (loss, metrics, val_*); return true to stop training.</summary>
    bool OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, Trainer trainer);

    /// <summary>Called once after the last epoch, whether it was the last planned or a callback stopped training.</summary>
    void OnTrainEnd(Trainer trainer) { }
}
