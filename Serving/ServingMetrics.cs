using Prometheus;

namespace Tensorium.Serving;

/// <summary>
/// The host's Prometheus metrics, in a registry of its own (so two hosts in one process, as in
/// the tests, count separately), exposed at <c>GET /metrics</c> by prometheus-net.
/// </summary>
public sealed class ServingMetrics
{
    /// <summary>Creates the collectors in a fresh registry.</summary>
    public ServingMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        Requests = factory.CreateCounter("tensorium_requests_total", "HTTP requests answered, by endpoint, model and status code.",
            new CounterConfiguration { LabelNames = ["endpoint", "model", "status"] });
        Errors = factory.CreateCounter("tensorium_request_errors_total", "Requests answered with a status of 400 or more, by endpoint, model and status code.",
            new CounterConfiguration { LabelNames = ["endpoint", "model", "status"] });
        Latency = factory.CreateHistogram("tensorium_request_duration_seconds", "Time from request to answer, by endpoint and model.",
            new HistogramConfiguration { LabelNames = ["endpoint", "model"], Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16) });
        BatchSize = factory.CreateHistogram("tensorium_batch_size", "Examples per forward pass, by model.",
            new HistogramConfiguration { LabelNames = ["model"], Buckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] });
        QueueDepth = factory.CreateGauge("tensorium_queue_depth", "Predict requests waiting for a batch, by model.",
            new GaugeConfiguration { LabelNames = ["model"] });
        Dropped = factory.CreateCounter("tensorium_dropped_requests_total", "Queued predict requests dropped because their client went away, by model.",
            new CounterConfiguration { LabelNames = ["model"] });
        Rejected = factory.CreateCounter("tensorium_rejected_requests_total", "Predict requests refused with 503 because the model's queue was full, by model.",
            new CounterConfiguration { LabelNames = ["model"] });
        ModelsLoaded = factory.CreateGauge("tensorium_models_loaded", "Models being served.");
        LoadFailures = factory.CreateCounter("tensorium_model_load_failures_total", "Model files that failed to load (start-up or reload), by model.",
            new CounterConfiguration { LabelNames = ["model"] });
        Reloads = factory.CreateCounter("tensorium_model_reloads_total", "Models swapped in after their files changed, by model.",
            new CounterConfiguration { LabelNames = ["model"] });
    }

    /// <summary>The registry <c>/metrics</c> exposes.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Requests answered.</summary>
    public Counter Requests { get; }

    /// <summary>Requests answered with an error status.</summary>
    public Counter Errors { get; }

    /// <summary>Request latency.</summary>
    public Histogram Latency { get; }

    /// <summary>Examples per forward pass.</summary>
    public Histogram BatchSize { get; }

    /// <summary>Requests waiting per model.</summary>
    public Gauge QueueDepth { get; }

    /// <summary>Queued requests dropped after their client disconnected.</summary>
    public Counter Dropped { get; }

    /// <summary>Requests refused because the queue was full.</summary>
    public Counter Rejected { get; }

    /// <summary>Models served now.</summary>
    public Gauge ModelsLoaded { get; }

    /// <summary>Failed model loads.</summary>
    public Counter LoadFailures { get; }

    /// <summary>Hot reloads.</summary>
    public Counter Reloads { get; }
}
