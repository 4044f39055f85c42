using System.Diagnostics;
using System.Threading.Channels;
using Tensorium.Models;

namespace Tensorium.Serving;

/// <summary>
/// Dynamic batching for one model: concurrent predict requests wait in a queue, and one worker
/// takes the first, waits up to <see cref="ServingOptions.MaxDelay"/> for more (up to
/// <see cref="ServingOptions.MaxBatchSize"/> examples in all), runs them as one forward pass and
/// hands each caller its own rows. The queue is bounded (<see cref="ServingOptions.QueueCapacity"/>
/// requests waiting, counting those gathered for the next batch): one more is refused at once
/// with a 503 rather than waiting without limit. A request whose client has gone away is
/// dropped before it reaches the model. Each queued request holds the model (a lease on its
/// <see cref="ServedModel"/>) until the batch it ran in has finished, so a model retired by hot
/// reload is never freed while a forward pass still reads its weights, even when every client
/// of that batch has gone away.
/// </summary>
public sealed class Batcher
{
    private sealed record Pending(float[] Values, int Count, CancellationToken Aborted, TaskCompletionSource<BatchOutput> Result);

    private readonly LoadedModel _model;
    private readonly ServedModel? _owner;
    private readonly ServingOptions _options;
    private readonly ServingMetrics _metrics;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _gate = new();
    private int _waiting;        // requests queued or gathered, not yet running: what the capacity bounds
    private bool _closed;
    private Pending? _carry;     // a request that did not fit in the last batch: first of the next
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
        Completion = Task.Run(RunAsync);
    }

    /// <summary>Completes when the batcher was closed and every queued request has been answered.</summary>
    public Task Completion { get; }

    /// <summary>Forward passes run so far.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>The most examples run in one forward pass so far.</summary>
    public long LargestBatch => Interlocked.Read(ref _largestBatch);

    /// <summary>Requests waiting now (queued or gathered for the next batch).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>
    /// Queues <paramref name="count"/> examples (<paramref name="values"/>, in the card's input
    /// shape one after the other) and returns the task of their outputs; null when the batcher
    /// is closed (its model was replaced: ask the new one). A request whose
    /// <paramref name="aborted"/> fires while it waits is dropped and its task cancelled.
    /// </summary>
    /// <exception cref="ProblemException">503 with Retry-After: the queue is full.</exception>
    public Task<BatchOutput>? Enqueue(float[] values, int count, CancellationToken aborted)
    {
        var pending = new Pending(values, count, aborted, new TaskCompletionSource<BatchOutput>(TaskCreationOptions.RunContinuationsAsynchronously));
        // The queued request's own hold on the model, released by the worker once its batch has
        // run: the caller's lease ends when it stops waiting (a client that disconnects), which
        // may be while the forward pass is still running. Retired: ask the successor.
        if (_owner != null && !_owner.TryAcquire()) return null;
        bool queued = false;
        try
        {
            lock (_gate)
            {
                if (_closed) return null;
                if (_waiting >= _options.QueueCapacity)
                {
                    _metrics.Rejected.WithLabels(_model.Name).Inc();
                    throw new ProblemException(StatusCodes.Status503ServiceUnavailable, "Queue full",
                        $"POST /v1/models/{_model.Name}/predict: {_waiting} requests are already waiting (the limit is {_options.QueueCapacity}); expected a retry after a short wait.",
                        retryAfterSeconds: 1);
                }
                _waiting++;
                _queue.Writer.TryWrite(pending);   // unbounded: the capacity is _waiting's, checked above
                queued = true;
            }
        }
        finally
        {
            if (!queued) _owner?.Release();
        }
        _metrics.QueueDepth.WithLabels(_model.Name).Set(Waiting);
        return pending.Result.Task;
    }

    /// <summary>Accepts no more requests; the queued ones still run, then <see cref="Completion"/> completes.</summary>
    public void Close()
    {
        lock (_gate)
        {
            if (_closed) return;
            _closed = true;
            _queue.Writer.Complete();
        }
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Pending>();
        while (true)
        {
            batch.Clear();
            if (_carry is { } carried) { batch.Add(carried); _carry = null; }
            else
            {
                if (!await reader.WaitToReadAsync()) return;   // closed and drained
                if (!reader.TryRead(out var first)) continue;
                batch.Add(first);
            }
            await GatherAsync(reader, batch);
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
    }

    /// <summary>Adds queued requests to <paramref name="batch"/> until it is full or the first one has waited MaxDelay.</summary>
    private async Task GatherAsync(ChannelReader<Pending> reader, List<Pending> batch)
    {
        int examples = batch[0].Count;
        // A monotonic clock: the wall clock (DateTime.UtcNow) may jump when the system time is
        // set, which would hold a batch far past MaxDelay or cut its wait short.
        long started = Stopwatch.GetTimestamp();
        while (examples < _options.MaxBatchSize)
        {
            if (reader.TryRead(out var next))
            {
                if (examples + next.Count > _options.MaxBatchSize) { _carry = next; return; }
                batch.Add(next);
                examples += next.Count;
                continue;
            }
            var remaining = _options.MaxDelay - Stopwatch.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero) return;
            var more = reader.WaitToReadAsync().AsTask();
            if (await Task.WhenAny(more, Task.Delay(remaining)) != more || !await more) return;
        }
    }

    /// <summary>One forward pass for the live requests of <paramref name="batch"/>; each gets its rows or the error.</summary>
    private void Run(List<Pending> batch)
    {
        lock (_gate) _waiting -= batch.Count;
        _metrics.QueueDepth.WithLabels(_model.Name).Set(Waiting);
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
        int n = live.Sum(p => p.Count);
        int perExample = _model.Card.Input.ElementCount;
        var data = new float[n * perExample];
        int offset = 0;
        foreach (var p in live)
        {
            p.Values.CopyTo(data, offset);
            offset += p.Values.Length;
        }
        using var input = Tensor.FromArray(data, [n, .. _model.Card.Input.Shape]);
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
