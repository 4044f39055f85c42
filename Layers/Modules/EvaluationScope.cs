namespace Tensorium.Layers;

/// <summary>
/// Evaluation (inference) mode for the code running on this thread or async flow, without
/// touching any module: while a scope is open, every module behaves as in <see cref="Module.Eval"/>
/// (Dropout is the identity, BatchNorm uses its running statistics and updates nothing), yet
/// <see cref="Module.Training"/> keeps its value. Use it as <c>using (new EvaluationScope()) { ... }</c>.
/// <para>
/// Why not <c>model.Eval()</c> then <c>model.Train()</c>: that flips a flag shared by every
/// thread, so two threads predicting at once restore each other's flag (one of them can end up
/// dropping units, and the model can end in the wrong mode), and an exception between the two
/// calls leaves the model in evaluation mode. A scope changes only this flow's state and closes
/// on every path, so any number of threads can run inference on one model at the same time
/// (<see cref="Module.Predict"/>, <see cref="Trainer.Predict(Data.IDataset, int)"/> and <see cref="Trainer.Evaluate"/> use it), and nothing is left
/// changed by a failure. Scopes nest. Open and close a scope on the same flow (a <c>using</c>
/// block does).
/// </para>
/// </summary>
public sealed class EvaluationScope : IDisposable
{
    // AsyncLocal, not ThreadStatic: the depth follows the flow into awaits and the tasks it
    // starts, and each thread or task that did not open a scope sees 0.
    private static readonly AsyncLocal<int> Depth = new();
    private bool _closed;

    /// <summary>Opens the scope: modules run in evaluation mode on this flow until it is disposed.</summary>
    public EvaluationScope() => Depth.Value++;

    /// <summary>True while at least one scope is open on this thread or async flow.</summary>
    public static bool Active => Depth.Value > 0;

    /// <summary>Closes the scope. Safe to call twice.</summary>
    public void Dispose()
    {
        if (_closed) return;
        _closed = true;
        Depth.Value--;
    }
}
