using System.Net.Http.Headers;
using System.Text.Json;
using Tensorium.Models;
using Tensorium.Serving;
using Tensorium.Tests.Data;

namespace Tensorium.Tests.Serving;

/// <summary>Every endpoint of the serving host, on real Kestrel on loopback (issue 14).</summary>
[NonParallelizable]
public class ServingEndpointTests
{
    private DataTempFolder _folder = null!;
    private ServingServer _server = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _folder = new DataTempFolder();
        TinyModels.SaveClassifier(_folder.Path, "tiny", seed: 1);
        TinyModels.SaveLanguageModel(_folder.Path, "chars");
        _server = await ServingServer.StartAsync(_folder.Path, new ServingOptions { MaxBodyBytes = 64 * 1024, MaxDelay = TimeSpan.FromMilliseconds(1) });
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _server.DisposeAsync();
        _folder.Dispose();
    }

    /// <summary>The outputs the model gives offline for <paramref name="images"/>: what the server must answer.</summary>
    private float[] Offline(params float[][] images)
    {
        using var model = ModelFiles.Load(ModelFiles.CardPath(_folder.Path, "tiny"));
        using var x = Tensor.FromArray(images.SelectMany(i => i).ToArray(), images.Length, 1, 4, 4);
        using var y = model.Forward(x);
        return y.ToArray<float>();
    }

    [Test]
    public async Task ModelsListsEveryModelWithItsCard()
    {
        var json = await ServingServer.JsonAsync(await _server.Client.GetAsync("/v1/models"));
        var models = json.GetProperty("models").EnumerateArray().ToList();
        Assert.That(models.Select(m => m.GetProperty("name").GetString()), Is.EqualTo(new[] { "chars", "tiny" }));
        var tiny = models[1];
        Assert.That(tiny.GetProperty("kind").GetString(), Is.EqualTo("classifier"));
        Assert.That(tiny.GetProperty("card").GetProperty("labels").EnumerateArray().Select(l => l.GetString()), Is.EqualTo(TinyModels.Labels));
        Assert.That(tiny.GetProperty("card").GetProperty("input").GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()), Is.EqualTo(new[] { 1, 4, 4 }));
        Assert.That(models[0].GetProperty("endpoints")[0].GetString(), Is.EqualTo("/v1/models/chars/generate"));

        var one = await ServingServer.JsonAsync(await _server.Client.GetAsync("/v1/models/tiny"));
        Assert.That(one.GetProperty("card").GetProperty("architecture").GetString(), Is.EqualTo("mlp"));
        string detail = await ServingServer.ProblemAsync(await _server.Client.GetAsync("/v1/models/nope"), 404);
        Assert.That(detail, Does.Contain("'nope'").And.Contain("chars, tiny"));
    }

    [Test]
    public async Task PredictAnswersOneExampleWithOutputsAndTopClasses()
    {
        var image = TinyModels.Image(3);
        var json = await ServingServer.JsonAsync(await _server.PredictAsync("tiny", image));
        var outputs = json.GetProperty("outputs").EnumerateArray().Select(o => o.GetSingle()).ToArray();
        Assert.That(outputs, Is.EqualTo(Offline(image)).Within(1e-5));
        var predictions = json.GetProperty("predictions").EnumerateArray().ToList();
        Assert.That(predictions, Has.Count.EqualTo(3), "top 5 of 3 classes is all 3");
        var probabilities = predictions.Select(p => p.GetProperty("probability").GetDouble()).ToArray();
        Assert.That(probabilities, Is.Ordered.Descending);
        Assert.That(probabilities.Sum(), Is.EqualTo(1).Within(1e-5));
        int best = Array.IndexOf(outputs, outputs.Max());
        Assert.That(predictions[0].GetProperty("index").GetInt32(), Is.EqualTo(best));
        Assert.That(predictions[0].GetProperty("label").GetString(), Is.EqualTo(TinyModels.Labels[best]));
    }

    [Test]
    public async Task PredictTakesTheCardsShapeWithOrWithoutLeadingOnesAndBatches()
    {
        var a = TinyModels.Image(1);
        var b = TinyModels.Image(2);
        float[][] Rows(float[] image) => [.. image.Chunk(4)];
        // [4, 4] (the card's [1, 4, 4] without its leading 1) is one example, like the 16 flat values.
        var square = await ServingServer.JsonAsync(await _server.PredictAsync("tiny", Rows(a)));
        Assert.That(square.GetProperty("outputs").EnumerateArray().Select(o => o.GetSingle()), Is.EqualTo(Offline(a)).Within(1e-5));
        // [2, 1, 4, 4] and [2, 16] are batches of two: one answer per example.
        var expected = Offline(a, b);
        foreach (object batch in new object[] { new[] { new[] { Rows(a) }, new[] { Rows(b) } }, new[] { a, b } })
        {
            var json = await ServingServer.JsonAsync(await _server.PredictAsync("tiny", batch));
            var outputs = json.GetProperty("outputs").EnumerateArray().ToList();
            Assert.That(outputs, Has.Count.EqualTo(2));
            Assert.That(outputs.SelectMany(o => o.EnumerateArray().Select(v => v.GetSingle())), Is.EqualTo(expected).Within(1e-5));
            Assert.That(json.GetProperty("predictions").GetArrayLength(), Is.EqualTo(2));
        }
    }

    [Test]
    public async Task HealthAndReadinessAnswer()
    {
        var health = await ServingServer.JsonAsync(await _server.Client.GetAsync("/healthz"));
        Assert.That(health.GetProperty("status").GetString(), Is.EqualTo("ok"));
        var ready = await ServingServer.JsonAsync(await _server.Client.GetAsync("/readyz"));
        Assert.That(ready.GetProperty("status").GetString(), Is.EqualTo("ready"));
        Assert.That(ready.GetProperty("models").GetArrayLength(), Is.EqualTo(2));
    }

    [Test]
    public async Task MetricsArePrometheusTextWithRequestsLatencyAndBatchSizes()
    {
        await ServingServer.JsonAsync(await _server.PredictAsync("tiny", TinyModels.Image(5)));
        await _server.PredictAsync("tiny", new[] { 1, 2 });
        var response = await _server.Client.GetAsync("/metrics");
        string text = await response.Content.ReadAsStringAsync();
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/plain"));
        Assert.That(text, Does.Contain("# TYPE tensorium_request_duration_seconds histogram"));
        Assert.That(text, Does.Contain("# TYPE tensorium_batch_size histogram"));
        Assert.That(text, Does.Contain("tensorium_queue_depth{model=\"tiny\"}"));
        Assert.That(await _server.MetricAsync("tensorium_requests_total{endpoint=\"/v1/models/{name}/predict\",model=\"tiny\",status=\"200\"}"), Is.GreaterThanOrEqualTo(1));
        Assert.That(await _server.MetricAsync("tensorium_request_errors_total{endpoint=\"/v1/models/{name}/predict\",model=\"tiny\",status=\"400\"}"), Is.GreaterThanOrEqualTo(1));
        Assert.That(await _server.MetricAsync("tensorium_batch_size_count{model=\"tiny\"}"), Is.GreaterThanOrEqualTo(1));
        Assert.That(await _server.MetricAsync("tensorium_models_loaded"), Is.EqualTo(2));
    }

    [Test]
    public async Task GenerateAnswersJsonAndIsReproducibleWithASeed()
    {
        string body = "{\"prompt\": \"abc\", \"max_tokens\": 10, \"temperature\": 1.0, \"seed\": 5}";
        var first = await ServingServer.JsonAsync(await _server.PostAsync("/v1/models/chars/generate", body));
        var second = await ServingServer.JsonAsync(await _server.PostAsync("/v1/models/chars/generate", body));
        string text = first.GetProperty("text").GetString()!;
        Assert.That(text, Has.Length.EqualTo(10));
        Assert.That(text.All(c => TinyModels.Alphabet.Contains(c)), Is.True);
        Assert.That(second.GetProperty("text").GetString(), Is.EqualTo(text));
    }

    [Test]
    public async Task GenerateStreamsServerSentEventsWhenAsked()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/models/chars/generate")
        {
            Content = new StringContent("{\"prompt\": \"ab\", \"max_tokens\": 6, \"temperature\": 0}", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await _server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
        string stream = await response.Content.ReadAsStringAsync();
        var events = stream.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var tokens = events.Where(e => e.StartsWith("data: ")).Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement.GetProperty("token").GetString()).ToList();
        Assert.That(tokens, Has.Count.EqualTo(6), stream);
        Assert.That(events.Last(), Does.StartWith("event: done"));
        // Greedy decoding: the stream says what the JSON answer says.
        var json = await ServingServer.JsonAsync(await _server.PostAsync("/v1/models/chars/generate", "{\"prompt\": \"ab\", \"max_tokens\": 6, \"temperature\": 0}"));
        Assert.That(string.Concat(tokens), Is.EqualTo(json.GetProperty("text").GetString()));
    }

    [Test]
    public async Task GenerateRefusesBadRequestsAsProblems()
    {
        Assert.That(await ServingServer.ProblemAsync(await _server.PostAsync("/v1/models/chars/generate", "{\"prompt\": \"XYZ\"}"), 400),
            Does.StartWith("POST /v1/models/chars/generate: the prompt has").And.Contain("'X'"), "the endpoint names itself once");
        Assert.That(await ServingServer.ProblemAsync(await _server.PostAsync("/v1/models/nope/generate", "{\"prompt\": \"a\"}"), 404),
            Does.StartWith("POST /v1/models/nope/generate: no model named 'nope'"));
        Assert.That(await ServingServer.ProblemAsync(await _server.PostAsync("/v1/models/chars/generate", "{\"max_tokens\": 3}"), 400), Does.Contain("\"prompt\""));
        Assert.That(await ServingServer.ProblemAsync(await _server.PostAsync("/v1/models/chars/generate", "{\"prompt\": \"a\", \"temperature\": -1}"), 400), Does.Contain("temperature"));
        Assert.That(await ServingServer.ProblemAsync(await _server.PostAsync("/v1/models/chars/generate", "{\"prompt\": \"a\", \"max_tokens\": 999999}"), 400), Does.Contain("max_tokens"));
        Assert.That(await ServingServer.ProblemAsync(await _server.PostAsync("/v1/models/tiny/generate", "{\"prompt\": \"a\"}"), 400), Does.Contain("classifier"));
        Assert.That(await ServingServer.ProblemAsync(await _server.PredictAsync("chars", new[] { 1, 2 }), 400), Does.Contain("generate"));
    }

    [Test]
    public async Task GenerateRefusesAPromptThatIsNotValidUnicode()
    {
        // The JSON reader takes both; reading them as a string threw, which was a 500.
        Assert.That(await ServingServer.ProblemAsync(await _server.PostAsync("/v1/models/chars/generate", "{\"prompt\": \"a\\ud800\", \"max_tokens\": 2}"), 400),
            Does.StartWith("POST /v1/models/chars/generate: \"prompt\" is not valid Unicode text"));
        using var invalidUtf8 = new ByteArrayContent([.. "{\"prompt\": \"a"u8, 0xFF, .. "\", \"max_tokens\": 2}"u8]);
        invalidUtf8.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        Assert.That(await ServingServer.ProblemAsync(await _server.Client.PostAsync("/v1/models/chars/generate", invalidUtf8), 400),
            Does.Contain("\"prompt\" is not valid Unicode text"));
        // A property name the same way: looking "prompt" up threw.
        Assert.That(await ServingServer.ProblemAsync(await _server.PostAsync("/v1/models/chars/generate", "{\"\\ud800\": 1, \"prompt\": \"a\"}"), 400),
            Does.Contain("a property name is not valid Unicode text"));
        await ServingServer.JsonAsync(await _server.PostAsync("/v1/models/chars/generate", "{\"prompt\": \"ab\", \"max_tokens\": 2}"));
    }

    [Test]
    public async Task GenerateQuotesAHugeValueShort() =>
        // A number of 10,000 digits was echoed whole in the error.
        Assert.That(await ServingServer.ProblemAsync(await _server.PostAsync("/v1/models/chars/generate", $"{{\"prompt\": \"a\", \"max_tokens\": 1{new string('0', 10_000)}}}"), 400),
            Does.Contain("\"max_tokens\" is 1000").And.Contain("...").And.Length.LessThan(300));

    [Test]
    public async Task GenerateHoldsTheDefaultMaxTokensToTheHostsLimit()
    {
        // MaxGeneratedTokens 3: a request without max_tokens got the default 100 characters.
        await using var limited = await ServingServer.StartAsync(_folder.Path, new ServingOptions { MaxGeneratedTokens = 3 });
        var json = await ServingServer.JsonAsync(await limited.PostAsync("/v1/models/chars/generate", "{\"prompt\": \"ab\", \"temperature\": 0}"));
        Assert.That(json.GetProperty("text").GetString(), Has.Length.EqualTo(3));
    }

    [Test]
    public async Task TheWebPageIsServedAtTheRoot()
    {
        var response = await _server.Client.GetAsync("/");
        string html = await response.Content.ReadAsStringAsync();
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
        Assert.That(html, Does.Contain("<canvas").And.Contain("/v1/models"));
    }
}
