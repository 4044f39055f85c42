// The serving host: ./build.sh serve [--models DIR] [--port N] (defaults artifacts/examples, 8080).
using Tensorium.Serving;

ServingOptions options;
try
{
    options = ServingOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
var app = ServingHost.Build(options);
app.Lifetime.ApplicationStarted.Register(() =>
    Console.WriteLine($"Tensorium serving models from '{Path.GetFullPath(options.ModelsDirectory)}' on {ServingHost.Address(app)} " +
        $"(batches of up to {options.MaxBatchSize}, {options.MaxDelay.TotalMilliseconds} ms delay; page at /, API at /v1/models, metrics at /metrics)"));
await app.RunAsync();
return 0;
