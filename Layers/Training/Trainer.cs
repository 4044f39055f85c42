using Tensorium.Data;

namespace Tensorium.Layers;

/// <summary>
/// A Keras-style training loop around a model, an optimizer and a loss:
/// <c>new Trainer(model, optimizer, (p, y) =&gt; p.CrossEntropy(y), [new Accuracy()]).Fit(train, 5, 64)</c>.
/// Each step runs inside a <see cref="TensorScope"/>, so nothing a step allocates outlives it.
/// </summary>
public sealed class Trainer(Module model, Optim.Optimizer optimizer, Func<Tensor, Tensor, Tensor> loss, IReadOnlyList<IMetric>? metrics = null)
{
    /// <summary>
    /// A trainer whose loss is one of the library's loss objects (<see cref="CrossEntropyLoss"/>,
    /// <see cref="MseLoss"/>, ...), as <c>nn.CrossEntropyLoss()</c> is passed around in PyTorch.
    /// </summary>
    public Trainer(Module model, Optim.Optimizer optimizer, ILoss loss, IReadOnlyList<IMetric>? metrics = null)
        : this(model, optimizer, (loss ?? throw new ArgumentNullException(nameof(loss))).Compute, metrics)
    {
    }

    /// <summary>The model being trained.</summary>
    public Module Model { get; } = model;
    /// <summary>The optimizer updating it.</summary>
    public Optim.Optimizer Optimizer { get; } = optimizer;
    /// <summary>(prediction, target) to a scalar loss.</summary>
    public Func<Tensor, Tensor, Tensor> Loss { get; } = loss;
    /// <summary>Metrics reported next to the loss.</summary>
    public IReadOnlyList<IMetric> Metrics { get; } = metrics ?? [];
    /// <summary>Where progress goes (Console.Out by default; null silences it).</summary>
    public TextWriter? Output { get; set; } = Console.Out;
    /// <summary>Called after every optimizer step with the 1-based global step (e.g. a per-step learning-rate schedule).</summary>
    public Action<int>? OnStep { get; set; }

    /// <summary>
    /// Trains for <paramref name="epochs"/> epochs, evaluating on <paramref name="validation"/> after each
    /// (logged with a "val_" prefix). Returns the per-epoch history.
    /// </summary>
    public History Fit(IDataset train, int epochs, int batchSize, bool shuffle = true, IDataset? validation = null,
        IReadOnlyList<ICallback>? callbacks = null, Generator? generator = null)
    {
        if (epochs <= 0 || batchSize <= 0)
            throw new ArgumentException($"Fit: epochs and batch size must be positive, got {epochs} and {batchSize}.");
        var history = new History();
        var loader = new DataLoader(train, batchSize, shuffle, generator ?? new Generator(0));
        int globalStep = 0;
        foreach (var callback in callbacks ?? []) callback.OnTrainBegin(this);
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            Model.Train();
            foreach (var m in Metrics) m.Reset();
            var bar = Output == null ? null : new ProgressBar($"Epoch {epoch}/{epochs}", loader.BatchCount, Output);
            double lossSum = 0;
            long seen = 0;
            int step = 0;
            foreach (var (hostInputs, hostTargets) in loader)
            {
                var (inputs, targets) = ToModelDevice(hostInputs, hostTargets);
                // using: a step that throws (a bad target, a failing loss) must free its batch too.
                using (inputs)
                using (targets)
                using (new TensorScope())
                {
                    var prediction = Model.Forward(inputs);
                    var value = Loss(prediction, targets);
                    Optimizer.ZeroGrad();
                    value.Backward();
                    Optimizer.Step();
                    foreach (var m in Metrics) m.Update(prediction, targets);
                    lossSum += value.Item() * inputs.Size(0);
                    seen += inputs.Size(0);
                }
                OnStep?.Invoke(++globalStep);
                bar?.Update(++step, seen, Logs(lossSum / seen));
            }
            var logs = Logs(lossSum / Math.Max(seen, 1));
            if (validation != null)
                foreach (var (name, v) in Evaluate(validation, batchSize)) logs["val_" + name] = v;
            logs["seconds"] = bar?.Elapsed ?? 0;
            history.Add(logs);
            if (validation != null && Output != null)
                Output.WriteLine("  validation: " + string.Join("  ", logs.Where(kv => kv.Key.StartsWith("val_")).Select(kv => $"{kv.Key} {kv.Value:F4}")));
            bool stop = false;
            foreach (var callback in callbacks ?? []) stop |= callback.OnEpochEnd(epoch, logs, this);
            if (stop) break;
        }
        foreach (var callback in callbacks ?? []) callback.OnTrainEnd(this);
        return history;
    }

    /// <summary>
    /// Loss and metrics over a dataset in evaluation mode, without recording gradients. Runs
    /// under an <see cref="EvaluationScope"/>: the model's <see cref="Module.Training"/> flag is
    /// never changed, so an exception (a bad dataset, a failing loss) leaves the model as it was.
    /// The metrics are this trainer's own objects, so one trainer evaluates on one thread at a time.
    /// </summary>
    public Dictionary<string, double> Evaluate(IDataset data, int batchSize = 256)
    {
        foreach (var m in Metrics) m.Reset();
        double lossSum = 0;
        long seen = 0;
        using (new EvaluationScope())
        using (Tape.NoGrad())
            foreach (var (hostInputs, hostTargets) in new DataLoader(data, batchSize))
            {
                var (inputs, targets) = ToModelDevice(hostInputs, hostTargets);
                using (inputs)   // freed even when the forward pass, loss or a metric throws
                using (targets)
                using (new TensorScope())
                {
                    var prediction = Model.Forward(inputs);
                    lossSum += Loss(prediction, targets).Item() * inputs.Size(0);
                    foreach (var m in Metrics) m.Update(prediction, targets);
                    seen += inputs.Size(0);
                }
            }
        return Logs(lossSum / Math.Max(seen, 1));
    }

    /// <summary>
    /// The model's outputs for every example of <paramref name="data"/>, concatenated along dim 0,
    /// in evaluation mode. Runs under an <see cref="EvaluationScope"/> and changes nothing shared:
    /// any number of threads may call Predict on the same trainer and model at once (while no
    /// thread trains it), each getting the same outputs as a single-threaded call.
    /// </summary>
    public Tensor Predict(IDataset data, int batchSize = 256)
    {
        var outputs = new List<Tensor>();
        try
        {
            using (new EvaluationScope())
            using (Tape.NoGrad())
                foreach (var (hostInputs, hostTargets) in new DataLoader(data, batchSize))
                {
                    var (inputs, targets) = ToModelDevice(hostInputs, hostTargets);
                    using (inputs)   // freed even when the forward pass throws
                    using (targets)
                        outputs.Add(Model.Forward(inputs));
                }
            return Joining.Concat(outputs, 0);
        }
        finally
        {
            outputs.ForEach(o => o.Dispose());
        }
    }

    /// <summary>
    /// The model's outputs for the examples stacked along dim 0 of <paramref name="inputs"/>, in
    /// batches of <paramref name="batchSize"/> through <see cref="Module.Predict"/> (evaluation
    /// mode, no tape, each batch's intermediates freed), concatenated along dim 0 on the inputs'
    /// device, as Keras's <c>model.predict(x, batch_size)</c>. The caller owns the result.
    /// </summary>
    public Tensor Predict(Tensor inputs, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (batchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"Trainer.Predict: expected a positive batch size, got {batchSize}.");
        if (inputs.Rank == 0 || inputs.Size(0) == 0)
            throw new ArgumentException($"Trainer.Predict: expected inputs with examples along dim 0, got shape {Layout.Format(inputs.Layout.Shape)}.", nameof(inputs));
        var outputs = new List<Tensor>();
        try
        {
            using (Tape.NoGrad())
            {
                for (int start = 0; start < inputs.Size(0); start += batchSize)
                {
                    using var batch = inputs.Narrow(0, start, Math.Min(batchSize, inputs.Size(0) - start));
                    outputs.Add(Model.Predict(batch));
                }
                return Joining.Concat(outputs, 0);
            }
        }
        finally
        {
            outputs.ForEach(o => o.Dispose());
        }
    }

    /// <summary>
    /// The batch on the device of the model's parameters: data loaders build batches in host
    /// memory, and a model moved with <c>model.To(device)</c> trains there. Host copies are released.
    /// </summary>
    private (Tensor Inputs, Tensor Targets) ToModelDevice(Tensor inputs, Tensor targets)
    {
        var device = Model.Parameters().FirstOrDefault()?.Device ?? Device.Cpu;
        if (inputs.Device == device && targets.Device == device) return (inputs, targets);
        using (inputs)
        using (targets)
            return (inputs.To(device), targets.To(device));
    }

    private Dictionary<string, double> Logs(double loss)
    {
        var logs = new Dictionary<string, double> { ["loss"] = loss };
        foreach (var m in Metrics)
            if (m.Logged) logs[m.Name] = m.Result;
        return logs;
    }
}
