using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Prometheus;
using Tensorium.Models;

namespace Tensorium.Serving;

/// <summary>
/// Builds the serving host: Kestrel with the body limit, the model store (loads, batches,
/// reloads), the JSON endpoints, problem+json errors, Prometheus metrics and the web page.
/// <c>Program</c> runs it; the tests start it on a free loopback port.
/// </summary>
public static class ServingHost
{
    /// <summary>
    /// A host for <paramref name="options"/>, not yet started. Architectures are looked up in
    /// <paramref name="registry"/> (default <see cref="ModelRegistry.Default"/>: register your
    /// own there before building). <paramref name="configure"/> may adjust the builder (logging).
    /// </summary>
    public static WebApplication Build(ServingOptions options, ModelRegistry? registry = null, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            if (options.LoopbackOnly) kestrel.Listen(IPAddress.Loopback, options.Port);
            else kestrel.ListenAnyIP(options.Port);
        });
        // One log line per request would cost more than a small model's inference: ASP.NET logs warnings only.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(registry ?? ModelRegistry.Default);
        builder.Services.AddSingleton<ServingMetrics>();
        builder.Services.AddSingleton<ModelStore>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ModelStore>());
        builder.Services.AddProblemDetails();
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
            json.SerializerOptions.TypeInfoResolverChain.Add(new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver());
        });
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseMiddleware<RequestMetricsMiddleware>();
        app.UseExceptionHandler();      // anything unforeseen: a 500 problem+json, never a stack trace
        // Unknown routes and methods: 404/405 problem+json, with its length like every other answer.
        app.UseStatusCodePages(pages => ProblemMiddleware.WithContentLength(pages.HttpContext, () =>
            pages.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = pages.HttpContext,
                ProblemDetails = { Status = pages.HttpContext.Response.StatusCode },
            }).AsTask()));
        app.UseMiddleware<ProblemMiddleware>();
        WebPage.Map(app);
        HealthEndpoints.Map(app);
        ModelEndpoints.Map(app);
        GenerateEndpoint.Map(app);
        app.MapMetrics("/metrics", app.Services.GetRequiredService<ServingMetrics>().Registry);
        return app;
    }

    /// <summary>The address a started host listens on, e.g. http://127.0.0.1:41234.</summary>
    public static Uri Address(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        string first = addresses?.FirstOrDefault() ?? throw new InvalidOperationException("ServingHost.Address: the host has not started (no address yet).");
        return new Uri(first.Replace("[::]", "localhost").Replace("0.0.0.0", "localhost"));
    }
}
