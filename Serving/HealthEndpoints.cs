namespace Tensorium.Serving;

/// <summary>
/// <c>GET /healthz</c> (liveness: the process answers) and <c>GET /readyz</c> (readiness: the
/// models are loaded and at least one is served; a load balancer sends traffic only then).
/// </summary>
public static class HealthEndpoints
{
    /// <summary>Maps the endpoints.</summary>
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Json(new { Status = "ok" }));
        app.MapGet("/readyz", (ModelStore store) =>
        {
            var names = store.Names;
            string status = !store.IsReady ? "loading" : names.Count == 0 ? "no models" : "ready";
            return Results.Json(new { Status = status, Models = names, Failures = store.Failures },
                statusCode: status == "ready" ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
    }
}
