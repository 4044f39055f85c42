using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tensorium.Models;
using Tensorium.Serving;

namespace Tensorium.Tests.Serving;

/// <summary>
/// The real serving host on a free loopback port (Kestrel, not an in-memory test server), over
/// a models folder, with an HTTP client pointed at it. Started once the initial load is done.
/// </summary>
public sealed class ServingServer : IAsyncDisposable
{
    private ServingServer(WebApplication app, HttpClient client)
    {
        App = app;
        Client = client;
    }

    /// <summary>The host.</summary>
    public WebApplication App { get; }

    /// <summary>A client for the host's address.</summary>
    public HttpClient Client { get; }

    /// <summary>The host's model store.</summary>
    public ModelStore Store => App.Services.GetRequiredService<ModelStore>();

    /// <summary>Starts a host serving <paramref name="modelsDirectory"/> with <paramref name="options"/> (port and folder overridden).</summary>
    public static async Task<ServingServer> StartAsync(string modelsDirectory, ServingOptions? options = null)
    {
        var o = (options ?? new ServingOptions()) with { ModelsDirectory = modelsDirectory, Port = 0, LoopbackOnly = true };
        var app = ServingHost.Build(o, configure: b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync();
        var client = new HttpClient { BaseAddress = ServingHost.Address(app), Timeout = TimeSpan.FromSeconds(30) };
        var server = new ServingServer(app, client);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!server.Store.IsReady)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the serving host did not finish loading its models in 20 s");
            await Task.Delay(10);
        }
        return server;
    }

    /// <summary>POSTs <paramref name="json"/> (raw text) to <paramref name="path"/>.</summary>
    public Task<HttpResponseMessage> PostAsync(string path, string json, CancellationToken cancellation = default) =>
        Client.PostAsync(path, new StringContent(json, System.Text.Encoding.UTF8, "application/json"), cancellation);

    /// <summary>POSTs <c>{"inputs": inputs}</c> to the predict endpoint of <paramref name="model"/>.</summary>
    public Task<HttpResponseMessage> PredictAsync(string model, object inputs, CancellationToken cancellation = default) =>
        Client.PostAsJsonAsync($"/v1/models/{model}/predict", new { inputs }, cancellation);

    /// <summary>The body of <paramref name="response"/> as JSON, after checking its status.</summary>
    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response, int expectedStatus = 200)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(expectedStatus), text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Checks that <paramref name="response"/> is an RFC 7807 problem with <paramref name="status"/>; returns its detail.</summary>
    public static async Task<string> ProblemAsync(HttpResponseMessage response, int status)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(status), text);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), text);
        Assert.That((response.Headers.TransferEncodingChunked, response.Content.Headers.ContentLength), Is.EqualTo(((bool?)null, (long?)System.Text.Encoding.UTF8.GetByteCount(text))),
            "a problem is sent with its length, not chunked");
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo(status));
        Assert.That(problem.GetProperty("title").GetString(), Is.Not.Empty);
        return problem.TryGetProperty("detail", out var detail) ? detail.GetString()! : "";
    }

    /// <summary>The value of a metric sample line (exact label text) in /metrics, 0 when absent.</summary>
    public async Task<double> MetricAsync(string sample)
    {
        string text = await Client.GetStringAsync("/metrics");
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(sample + " ", StringComparison.Ordinal))
                return double.Parse(line[(sample.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        return 0;
    }

    /// <summary>Waits (up to 15 s, else fails the test naming <paramref name="what"/>) until <paramref name="condition"/> holds.</summary>
    public static Task WaitUntil(Func<bool> condition, string what) => WaitUntil(() => Task.FromResult(condition()), what);

    /// <summary>Waits (up to 15 s, else fails the test naming <paramref name="what"/>) until <paramref name="condition"/> holds.</summary>
    public static async Task WaitUntil(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting until {what}");
            await Task.Delay(10);
        }
    }

    /// <summary>The outputs of the model saved as "tiny" in <paramref name="folder"/> for one 4x4 <paramref name="image"/>, computed without the server.</summary>
    public static float[] Offline(string folder, float[] image)
    {
        using var model = ModelFiles.Load(ModelFiles.CardPath(folder, "tiny"));
        using var x = Tensor.FromArray(image, 1, 1, 4, 4);
        using var y = model.Forward(x);
        return y.ToArray<float>();
    }

    /// <summary>The outputs of the tiny classifier with weights from <paramref name="seed"/> for one 4x4 <paramref name="image"/>, computed without the server.</summary>
    public static float[] Offline(ulong seed, float[] image)
    {
        using var model = TinyModels.Classifier(seed);
        using var x = Tensor.FromArray(image, 1, 1, 4, 4);
        using var y = model.Forward(x);
        return y.ToArray<float>();
    }

    /// <summary>Stops the host.</summary>
    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
