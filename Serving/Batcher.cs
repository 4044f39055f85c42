using System.Diagnostics;
using Tensorium.Models;

namespace Tensorium.Serving;

/// <summary>
/// Dynamic batching for one model: concurrent predict requests wait in a queue, and one worker
/// thread takes what is queued, waits until the first of them has waited
/// <see cref="ServingOptions.MaxDelay"/> for more (up to <see cref="ServingOptions.MaxBatchSize"/>
/// examples in all), runs them as one forward pass and hands each caller its own rows. While a
/// batch computes, the next one gathers in the queue; a request that already waited its
/// MaxDelay behind a busy model runs as soon as the model is free, so a batch grows with the
/// load instead of the load waiting for a batch. The worker is a thread of its own, not the
/// thread pool's: a forward pass holds it for milliseconds, which would starve the pool that
/// runs the HTTP requests. The queue is bounded (<see cref="ServingOptions.QueueCapacity"/>
/// requests waiting, counting those gathered for the next batch): one more is refused at once
/// with a 503 rather than waiting without limit. A request whose client has gone away is
/// dropped before it reaches the model. Each queued request holds the model (a lease on its
/// <see cref="ServedModel"/>) until the batch it ran in has finished, so a model retired by hot
/// reload is never freed while a forward pass still reads its weights, even when every client
/// of that batch has gone away.
/// </summary>
public sealed class Batcher
{
    private sealed record Pending(float[] Values, int Count, CancellationToken Aborted, long Arrived, TaskCompletionSource<BatchOutput> Result);

    private readonly LoadedModel _model;
    private readonly ServedModel? _owner;
    private readonly ServingOptions _options;
    private readonly ServingMetrics _metrics;
    private readonly long _maxDelayTicks;
    private readonly object _gate = new();                   // guards the queue and the counts; the worker waits on it (Monitor)
    private readonly Queue<Pending> _queue = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // The batch's inputs, reused by every forward pass and grown to the largest batch run so far
    // (only the worker thread touches it). Not sized MaxBatchSize x ElementCount up front: that
    // product may pass int.MaxValue (a large --max-batch) and wrap to a length that is too short.
    private float[] _input = [];
    private int _queuedExamples;
    private bool _closed;
    private long _batches, _largestBatch;

    /// <summary>
    /// Starts the worker for <paramref name="model"/>. When <paramref name="owner"/> is given,
    /// every queued request holds a lease on it until its batch has run (see the class summary).
    /// </summary>
    public Batcher(LoadedModel model, ServingOptions options, ServingMetrics metrics, ServedModel? owner = null)
    {
        _model = model;
        _owner = owner;
        _options = options;
        _metrics = metrics;
        // Capped (at about 146 years) so that adding it to a timestamp cannot overflow.
        _maxDelayTicks = (long)Math.Min(options.MaxDelay.TotalSeconds * Stopwatch.Frequency, long.MaxValue / 4);
        new Thread(Work) { IsBackground = true, Name = $"Tensorium batcher '{model.Name}'" }.Start();
    }

    /// <summary>Completes when the batcher was closed and every queued request has been answered.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Forward passes run so far.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>The most examples run in one forward pass so far.</summary>
    public long LargestBatch => Interlocked.Read(ref _largestBatch);

    /// <summary>Requests waiting now (queued or gathered for the next batch).</summary>
    public int Waiting { get { lock (_gate) return _queue.Count; } }

    /// <summary>
    /// Queues <paramref name="count"/> examples (<paramref name="values"/>, in the card's input
    /// shape one after the other) and returns the task of their outputs; null when the batcher
    /// is closed (its model was replaced: ask the new one). A request whose
    /// <paramref name="aborted"/> fires while it waits is dropped and its task cancelled.
    /// </summary>
    /// <exception cref="ProblemException">503 with Retry-After: the queue is full.</exception>
    public Task<BatchOutput>? Enqueue(float[] values, int count, CancellationToken aborted)
    {
        var pending = new Pending(values, count, aborted, Stopwatch.GetTimestamp(), new TaskCompletionSource<BatchOutput>(TaskCreationOptions.RunContinuationsAsynchronously));
        // The queued request's own hold on the model, released by the worker once its batch has
        // run: the caller's lease ends when it stops waiting (a client that disconnects), which
        // may be while the forward pass is still running. Retired: ask the successor.
        if (_owner != null && !_owner.TryAcquire()) return null;
        bool queued = false;
        int waiting;
        try
        {
            lock (_gate)
            {
                if (_closed) return null;
                if (_queue.Count >= _options.QueueCapacity)
                {
                    _metrics.Rejected.WithLabels(_model.Name).Inc();
                    throw new ProblemException(StatusCodes.Status503ServiceUnavailable, "Queue full",
                        $"POST /v1/models/{_model.Name}/predict: {_queue.Count} requests are already waiting (the limit is {_options.QueueCapacity}); expected a retry after a short wait.",
                        retryAfterSeconds: 1);
                }
                _queue.Enqueue(pending);
                _queuedExamples += count;
                waiting = _queue.Count;
                queued = true;
                // Wake the worker: it waits for a first request, or for a batch to fill.
                Monitor.Pulse(_gate);
            }
        }
        finally
        {
            if (!queued) _owner?.Release();
        }
        _metrics.QueueDepth.WithLabels(_model.Name).Set(waiting);
        return pending.Result.Task;
    }

    /// <summary>Accepts no more requests; the queued ones still run, then <see cref="Completion"/> completes.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>The worker thread: one batch at a time until closed and drained.</summary>
    private void Work()
    {
        var batch = new List<Pending>();   // no capacity of MaxBatchSize: it may be far larger than any batch run
        while (Next(batch))
        {
            try
            {
                Run(batch);
            }
            finally
            {
                // The batch is done with the weights: only now may a retired model be freed.
                if (_owner != null) foreach (var _ in batch) _owner.Release();
            }
        }
        _completion.TrySetResult();
    }

    /// <summary>
    /// Waits for the next batch and takes it from the queue: the requests queued when the batch
    /// is full or its first request has waited MaxDelay. False once closed and drained.
    /// </summary>
    private bool Next(List<Pending> batch)
    {
        batch.Clear();
        int waiting;
        lock (_gate)
        {
            while (_queue.Count == 0)
            {
                if (_closed) return false;
                Monitor.Wait(_gate);
            }
            // A monotonic clock: the wall clock (DateTime.UtcNow) may jump when the system time is
            // set, which would hold a batch far past MaxDelay or cut its wait short.
            long deadline = _queue.Peek().Arrived + _maxDelayTicks;
            while (_queuedExamples < _options.MaxBatchSize && !_closed)
            {
                long remaining = deadline - Stopwatch.GetTimestamp();
                if (remaining <= 0) break;
                // Whole milliseconds, rounded up: a wait of 0 would spin on the lock for the last one.
                Monitor.Wait(_gate, (int)Math.Min(int.MaxValue, Math.Ceiling(remaining * 1000.0 / Stopwatch.Frequency)));
            }
            int examples = 0;
            while (_queue.TryPeek(out var next) && (batch.Count == 0 || examples + next.Count <= _options.MaxBatchSize))
            {
                batch.Add(_queue.Dequeue());
                examples += next.Count;
            }
            _queuedExamples -= examples;
            waiting = _queue.Count;
        }
        _metrics.QueueDepth.WithLabels(_model.Name).Set(waiting);
        return true;
    }

    /// <summary>One forward pass for the live requests of <paramref name="batch"/>; each gets its rows or the error.</summary>
    private void Run(List<Pending> batch)
    {
        var live = new List<Pending>(batch.Count);
        foreach (var p in batch)
        {
            if (p.Aborted.IsCancellationRequested)
            {
                // The client disconnected while waiting: spend no compute on it.
                _metrics.Dropped.WithLabels(_model.Name).Inc();
                p.Result.TrySetCanceled(p.Aborted);
            }
            else live.Add(p);
        }
        if (live.Count == 0) return;
        try
        {
            var (outputs, probabilities, width, n) = Forward(live);
            Interlocked.Increment(ref _batches);
            InterlockedMax(ref _largestBatch, n);
            _metrics.BatchSize.WithLabels(_model.Name).Observe(n);
            int row = 0;
            foreach (var p in live)
            {
                var mine = outputs.AsSpan(row * width, p.Count * width).ToArray();
                var myProbabilities = probabilities?.AsSpan(row * width, p.Count * width).ToArray();
                p.Result.TrySetResult(new BatchOutput(mine, myProbabilities, width, n));
                row += p.Count;
            }
        }
        catch (Exception e)
        {
            foreach (var p in live) p.Result.TrySetException(e);
        }
    }

    private (float[] Outputs, float[]? Probabilities, int Width, int Examples) Forward(List<Pending> live)
    {
        int n = 0;
        foreach (var p in live) n += p.Count;
        int length = checked(n * _model.Card.Input.ElementCount);
        if (_input.Length < length) _input = new float[length];
        n = 0;
        foreach (var p in live)
        {
            // Copied into the one reused buffer: a fresh 200 KB array per batch would land on the
            // large object heap and bring a full garbage collection every few hundred batches.
            p.Values.CopyTo(_input, n * _model.Card.Input.ElementCount);
            n += p.Count;
        }
        using var input = Tensor.FromSpan<float>(_input.AsSpan(0, n * _model.Card.Input.ElementCount), [n, .. _model.Card.Input.Shape]);
        if (_model.Card.Kind == ModelKind.Classifier)
        {
            var (logits, probabilities, classes) = _model.Classify(input);
            return (logits, probabilities, classes, n);
        }
        using var output = _model.Forward(input);
        var values = output.ToArray<float>();
        return (values, null, values.Length / n, n);
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long current;
        while ((current = Interlocked.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current) { }
    }
}
