using System.Collections.Concurrent;
using Tensorium.Models;

namespace Tensorium.Serving;

/// <summary>
/// The models the host serves, by name: every card in the models folder, loaded at start-up in
/// the background (the host reports ready once that is done), then kept in step with the
/// folder. A card or weights file that changes (written atomically, e.g. by
/// <see cref="ModelFiles.Save"/>) is reloaded and swapped in without dropping requests in flight;
/// a deleted card unloads its model. A file that fails to load is reported (log, metrics,
/// <c>/readyz</c>) and skipped; at a reload the previous version keeps serving.
/// </summary>
public sealed class ModelStore : IHostedService, IDisposable
{
    private readonly ServingOptions _options;
    private readonly ServingMetrics _metrics;
    private readonly ModelRegistry _registry;
    private readonly ILogger<ModelStore> _log;
    private readonly ConcurrentDictionary<string, ServedModel> _models = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _failures = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Timer> _pendingReloads = new(StringComparer.Ordinal);
    private readonly Lock _reloadGate = new();
    private FileSystemWatcher? _watcher;
    private Task _initialLoad = Task.CompletedTask;
    private volatile bool _ready, _stopping;
    private bool _disposed;   // under _reloadGate: a reload that runs after Dispose must not load a model nobody frees

    /// <summary>Creates the store (models load in <see cref="StartAsync"/>).</summary>
    public ModelStore(ServingOptions options, ServingMetrics metrics, ModelRegistry registry, ILogger<ModelStore> log)
    {
        _options = options;
        _metrics = metrics;
        _registry = registry;
        _log = log;
    }

    /// <summary>True once the initial scan of the models folder has finished.</summary>
    public bool IsReady => _ready;

    /// <summary>The names served now, sorted.</summary>
    public IReadOnlyList<string> Names => [.. _models.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The models served now, by name.</summary>
    public IReadOnlyDictionary<string, ServedModel> Models => _models;

    /// <summary>The files that failed to load, by model name, with the reason.</summary>
    public IReadOnlyDictionary<string, string> Failures => _failures;

    /// <summary>Loads every model in the background and starts watching the folder.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.HotReload && Directory.Exists(_options.ModelsDirectory)) StartWatching();
        else if (!Directory.Exists(_options.ModelsDirectory))
            _log.LogWarning("models folder '{Folder}' does not exist: no models to serve (train one, e.g. ./build.sh demo mlp)", Path.GetFullPath(_options.ModelsDirectory));
        _initialLoad = Task.Run(() =>
        {
            foreach (var card in ModelFiles.FindCards(_options.ModelsDirectory))
                Reload(Path.GetFileNameWithoutExtension(card));
            _ready = true;
            _log.LogInformation("serving {Count} model(s) from '{Folder}': {Names}", _models.Count, Path.GetFullPath(_options.ModelsDirectory), string.Join(", ", Names));
        }, cancellationToken);
        return Task.CompletedTask;
    }

    /// <summary>Stops watching, cancels the reloads not yet started and waits for the initial load to finish.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        _watcher?.Dispose();
        _watcher = null;
        StopTimers();
        await _initialLoad.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Holds model <paramref name="name"/> for one request (dispose the lease when done), or
    /// throws a 404 <see cref="ProblemException"/> naming <paramref name="endpoint"/> (the
    /// request, e.g. "POST /v1/models/x/predict") and the models served.
    /// </summary>
    public ModelLease Acquire(string name, string endpoint)
    {
        // A model retired between the look-up and the acquire was swapped out first (Reload
        // swaps, then retires): look again, for as long as the name maps to another model each time.
        ServedModel? retired = null;
        while (_models.TryGetValue(name, out var served) && !ReferenceEquals(served, retired))
        {
            if (served.TryAcquire()) return new ModelLease(served);
            retired = served;
        }
        throw ProblemException.UnknownModel(endpoint, name, Names);
    }

    /// <summary>
    /// Loads (or reloads) model <paramref name="name"/> from its files now and swaps it in; a
    /// missing card unloads it. Failures are recorded in <see cref="Failures"/> and logged; the
    /// previous version, if any, keeps serving. Returns whether the model is served afterwards
    /// from freshly loaded files.
    /// </summary>
    public bool Reload(string name)
    {
        lock (_reloadGate)
        {
            // A reload timer that fires after Dispose: nobody would free what it loads.
            if (_disposed) return false;
            string cardPath = ModelFiles.CardPath(_options.ModelsDirectory, name);
            if (!File.Exists(cardPath))
            {
                _failures.TryRemove(name, out _);
                if (_models.TryRemove(name, out var removed))
                {
                    removed.Retire();
                    _log.LogInformation("model '{Name}': its card was removed; no longer served", name);
                }
                _metrics.ModelsLoaded.Set(_models.Count);
                return false;
            }
            LoadedModel loaded;
            try
            {
                loaded = ModelFiles.Load(cardPath, _registry);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A corrupt or half-copied file must not stop the others: report and skip it.
                _failures[name] = e.Message;
                _metrics.LoadFailures.WithLabels(name).Inc();
                _log.LogError("model '{Name}' skipped: {Reason}{Kept}", name, e.Message,
                    _models.ContainsKey(name) ? " (the previous version keeps serving)" : "");
                return false;
            }
            var served = new ServedModel(loaded, _options, _metrics);
            // Swap first, then retire: a request that finds the old model retired looks the name
            // up again and must then find its successor, never a gap that answers 404.
            _models.TryGetValue(name, out var old);
            _models[name] = served;
            old?.Retire();
            bool replaced = old != null;
            _failures.TryRemove(name, out _);
            _metrics.ModelsLoaded.Set(_models.Count);
            if (replaced) _metrics.Reloads.WithLabels(name).Inc();
            _log.LogInformation("model '{Name}' {What} ({Architecture}, {Kind}, input {Shape})", name, replaced ? "reloaded" : "loaded",
                loaded.Card.Architecture, loaded.Card.Kind, loaded.Card.Input.ShapeText);
            return true;
        }
    }

    private void StartWatching()
    {
        _watcher = new FileSystemWatcher(_options.ModelsDirectory)
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
            IncludeSubdirectories = false,
        };
        _watcher.Created += (_, e) => Changed(e.FullPath);
        _watcher.Changed += (_, e) => Changed(e.FullPath);
        _watcher.Deleted += (_, e) => Changed(e.FullPath);
        _watcher.Renamed += (_, e) => { Changed(e.OldFullPath); Changed(e.FullPath); };
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>Schedules a reload of the model a changed file belongs to, once the writes settle.</summary>
    private void Changed(string path)
    {
        string file = Path.GetFileName(path);
        if (file.StartsWith('.')) return;   // temporary files of atomic writes
        string extension = Path.GetExtension(file);
        if (extension is not (".json" or ".safetensors")) return;
        string name = Path.GetFileNameWithoutExtension(file);
        if (_stopping) return;   // an event raised while the host stops: schedule nothing more
        // Saving writes the weights, then the card: wait for quiet before loading the pair.
        var timer = _pendingReloads.GetOrAdd(name, n => new Timer(_ => ReloadFromWatcher(n)));
        timer.Change(_options.ReloadDelay, Timeout.InfiniteTimeSpan);
    }

    private void ReloadFromWatcher(string name)
    {
        try
        {
            Reload(name);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.LogError(e, "model '{Name}': reload failed", name);
        }
    }

    /// <summary>Stops watching and frees every model (requests still running keep theirs until they finish).</summary>
    public void Dispose()
    {
        _stopping = true;
        _watcher?.Dispose();
        StopTimers();
        // Under the reload gate: a reload running now finishes first and its model is retired
        // here; one that starts later sees _disposed and loads nothing.
        lock (_reloadGate)
        {
            _disposed = true;
            var served = _models.Values.ToArray();
            _models.Clear();
            foreach (var model in served) model.Retire();
        }
    }

    /// <summary>Cancels the scheduled reloads (one already running finishes; Reload checks <c>_disposed</c>).</summary>
    private void StopTimers()
    {
        foreach (var name in _pendingReloads.Keys)
            if (_pendingReloads.TryRemove(name, out var timer)) timer.Dispose();
    }
}
