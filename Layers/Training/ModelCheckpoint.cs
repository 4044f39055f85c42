using System.Globalization;
using System.Text.RegularExpressions;
using Tensorium.Data;

namespace Tensorium.Layers;

/// <summary>
/// Saves the model after an epoch, as Keras's ModelCheckpoint: to a safetensors file named by a
/// path template, or through a writer of your own; with <c>saveBestOnly</c> only when
/// <see cref="Monitor"/> improves (which way, <c>mode</c> says; by default the loss falls and a
/// metric moves the way its <see cref="IMetric.HigherIsBetter"/> says).
/// </summary>
public sealed partial class ModelCheckpoint : ICallback
{
    private readonly Action<Trainer, int, string?> _save;
    private readonly MonitoredQuantity _monitor;
    private readonly List<string> _saved = new();

    /// <summary>
    /// Saves <see cref="Trainer.Model"/> with <see cref="Checkpoint.Save"/> to
    /// <paramref name="pathTemplate"/>, in which <c>{epoch}</c> and any name in the epoch logs
    /// are replaced by their values, with an optional .NET format: <c>"runs/cnn-{epoch:D2}-{val_accuracy:F4}.safetensors"</c>
    /// gives <c>runs/cnn-03-0.8812.safetensors</c>. A template without placeholders is overwritten
    /// each time (the best model so far, with <paramref name="saveBestOnly"/>). Missing folders are created.
    /// </summary>
    public ModelCheckpoint(string pathTemplate, string monitor = "val_loss", bool saveBestOnly = true, MonitorMode mode = MonitorMode.Auto)
        : this(monitor, saveBestOnly, mode)
    {
        ArgumentException.ThrowIfNullOrEmpty(pathTemplate);
        if (pathTemplate.Count(c => c == '{') != pathTemplate.Count(c => c == '}'))
            throw new ArgumentException($"ModelCheckpoint: the path template '{pathTemplate}' has unbalanced braces; expected placeholders such as {{epoch}} or {{val_loss:F4}}.", nameof(pathTemplate));
        PathTemplate = pathTemplate;
        _save = (trainer, _, path) =>
        {
            string? folder = Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
            Checkpoint.Save(path!, trainer.Model);
        };
    }

    /// <summary>Saves through <paramref name="save"/> (given the trainer and the 1-based epoch), e.g. a checkpoint with the optimizer's state.</summary>
    public ModelCheckpoint(Action<Trainer, int> save, string monitor = "val_loss", bool saveBestOnly = true, MonitorMode mode = MonitorMode.Auto)
        : this(monitor, saveBestOnly, mode)
    {
        ArgumentNullException.ThrowIfNull(save);
        _save = (trainer, epoch, _) => save(trainer, epoch);
    }

    private ModelCheckpoint(string monitor, bool saveBestOnly, MonitorMode mode)
    {
        ArgumentException.ThrowIfNullOrEmpty(monitor);
        Monitor = monitor;
        SaveBestOnly = saveBestOnly;
        _monitor = new MonitoredQuantity("ModelCheckpoint", monitor, mode, 0);
        _save = (_, _, _) => { };
    }

    /// <summary>The logged value that decides "best".</summary>
    public string Monitor { get; }
    /// <summary>Whether only epochs that improve <see cref="Monitor"/> are saved.</summary>
    public bool SaveBestOnly { get; }
    /// <summary>The path template, when saving to files.</summary>
    public string? PathTemplate { get; }
    /// <summary>The files written so far, oldest first (empty with a writer of your own).</summary>
    public IReadOnlyList<string> SavedPaths => _saved;
    /// <summary>The epoch (1-based) with the best monitored value, or 0.</summary>
    public int BestEpoch => _monitor.BestEpoch;

    /// <inheritdoc />
    public void OnTrainBegin(Trainer trainer) => _monitor.Reset();

    /// <inheritdoc />
    public bool OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, Trainer trainer)
    {
        double previous = _monitor.Best;
        if (SaveBestOnly)
        {
            // The epoch becomes the best only once its file is written: a failed save (a full
            // disk) must not stop a later, slightly worse epoch from being saved.
            var (value, improved) = _monitor.Check(logs, trainer);
            if (!improved) return false;
            string path = PathTemplate == null ? "" : FormatPath(PathTemplate, epoch, logs);
            trainer.Output?.WriteLine(double.IsNaN(previous)
                ? $"Epoch {epoch}: {Monitor} is {value:G6}{(path == "" ? "" : $", saving the model to {path}")}"
                : $"Epoch {epoch}: {Monitor} improved from {previous:G6} to {value:G6}{(path == "" ? "" : $", saving the model to {path}")}");
            Save(trainer, epoch, PathTemplate == null ? null : path);
            _monitor.Accept(epoch, value);
        }
        else Save(trainer, epoch, PathTemplate == null ? null : FormatPath(PathTemplate, epoch, logs));
        return false;
    }

    private void Save(Trainer trainer, int epoch, string? path)
    {
        _save(trainer, epoch, path);
        if (path != null) _saved.Add(path);
    }

    /// <summary>
    /// <paramref name="template"/> with <c>{epoch}</c> and <c>{name}</c> / <c>{name:format}</c> for
    /// every name in <paramref name="logs"/> replaced (invariant culture).
    /// </summary>
    public static string FormatPath(string template, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(logs);
        return Placeholder().Replace(template, m =>
        {
            string name = m.Groups["name"].Value;
            string? format = m.Groups["format"].Success ? m.Groups["format"].Value : null;
            if (name == "epoch") return epoch.ToString(format, CultureInfo.InvariantCulture);
            if (logs.TryGetValue(name, out double value)) return value.ToString(format ?? "G6", CultureInfo.InvariantCulture);
            throw new ArgumentException($"ModelCheckpoint: the path template '{template}' names {{{name}}}, which is neither 'epoch' nor in the epoch logs (have: {string.Join(", ", logs.Keys)}).");
        });
    }

    [GeneratedRegex(@"\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(:(?<format>[^{}]+))?\}")]
    private static partial Regex Placeholder();
}
