using Tensorium.Models;

namespace Tensorium.Serving;

/// <summary>
/// A loaded model as the host serves it: the model, its batcher and the count of requests
/// using it. When hot reload replaces it, it is retired: new requests go to the new model, the
/// ones already here finish, and the last one out disposes the weights.
/// </summary>
public sealed class ServedModel
{
    private readonly Lock _gate = new();
    private readonly int _maxGenerations;
    private int _leases, _generations;
    private bool _retired, _disposed;

    /// <summary>Starts serving <paramref name="model"/> (this takes ownership of it).</summary>
    public ServedModel(LoadedModel model, ServingOptions options, ServingMetrics metrics)
    {
        Model = model;
        Batcher = new Batcher(model, options, metrics, owner: this);
        _maxGenerations = options.MaxConcurrentGenerations;
        LoadedAt = DateTimeOffset.UtcNow;
    }

    /// <summary>The model.</summary>
    public LoadedModel Model { get; }

    /// <summary>Its predict queue.</summary>
    public Batcher Batcher { get; }

    /// <summary>When it was loaded.</summary>
    public DateTimeOffset LoadedAt { get; }

    /// <summary>Whether the weights have been freed (after retirement, once the last request finished).</summary>
    public bool IsDisposed { get { lock (_gate) return _disposed; } }

    /// <summary>Counts one more request using the model; false when it is retired (look the name up again).</summary>
    public bool TryAcquire()
    {
        lock (_gate)
        {
            if (_retired) return false;
            _leases++;
            return true;
        }
    }

    /// <summary>Ends a request started with <see cref="TryAcquire"/>; the last one after retirement frees the model.</summary>
    public void Release()
    {
        lock (_gate)
        {
            _leases--;
            if (!_retired || _leases > 0) return;
        }
        DisposeModel();
    }

    /// <summary>Generate requests running on the model now.</summary>
    public int Generations { get { lock (_gate) return _generations; } }

    /// <summary>
    /// Counts one more generation running on the model; false when
    /// <see cref="ServingOptions.MaxConcurrentGenerations"/> already run (refuse the request).
    /// Pair a true with <see cref="EndGeneration"/>.
    /// </summary>
    public bool TryStartGeneration()
    {
        lock (_gate)
        {
            if (_generations >= _maxGenerations) return false;
            _generations++;
            return true;
        }
    }

    /// <summary>Ends a generation started with <see cref="TryStartGeneration"/>.</summary>
    public void EndGeneration()
    {
        lock (_gate) _generations--;
    }

    /// <summary>Stops taking requests; the model is freed when those in flight have finished.</summary>
    public void Retire()
    {
        lock (_gate)
        {
            if (_retired) return;
            _retired = true;
            Batcher.Close();
            if (_leases > 0) return;
        }
        DisposeModel();
    }

    private void DisposeModel()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        // Every queued request holds a lease until its batch has run (the batcher releases it), so
        // no forward pass is left reading these weights.
        Model.Dispose();
    }
}
