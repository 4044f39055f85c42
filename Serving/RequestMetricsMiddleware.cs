using System.Diagnostics;

namespace Tensorium.Serving;

/// <summary>
/// Counts every request and its latency by endpoint (the route pattern), model and status, into
/// <see cref="ServingMetrics"/>. Model names that are not served are counted as "unknown", so a
/// client cannot grow the metrics without bound.
/// </summary>
public sealed class RequestMetricsMiddleware(RequestDelegate next, ServingMetrics metrics, ModelStore store)
{
    /// <summary>Times the rest of the pipeline and records the outcome.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await next(context);
        }
        finally
        {
            string endpoint = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            if (endpoint != "/metrics")
            {
                string model = context.Request.RouteValues["name"] is string name ? (store.Models.ContainsKey(name) ? name : "unknown") : "";
                string status = context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted ? "499" : context.Response.StatusCode.ToString();
                metrics.Requests.WithLabels(endpoint, model, status).Inc();
                if (status[0] is '4' or '5') metrics.Errors.WithLabels(endpoint, model, status).Inc();
                metrics.Latency.WithLabels(endpoint, model).Observe(clock.Elapsed.TotalSeconds);
            }
        }
    }
}
