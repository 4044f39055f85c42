using System.Net.Http.Headers;
using Tensorium.Models;
using Tensorium.Serving;
using Tensorium.Tests.Data;

namespace Tensorium.Tests.Serving;

/// <summary>Dynamic batching: concurrent requests share forward passes, the queue is bounded, a gone client's work is dropped (issue 14).</summary>
[NonParallelizable]
public class ServingBatchingTests
{
    [Test]
    public async Task ConcurrentClientsEachGetTheirOwnAnswerFromSharedBatches()
    {
        using var folder = new DataTempFolder();
        TinyModels.SaveClassifier(folder.Path);
        await using var server = await ServingServer.StartAsync(folder.Path, new ServingOptions { MaxDelay = TimeSpan.FromMilliseconds(200), MaxBatchSize = 64 });
        const int clients = 24;
        var images = Enumerable.Range(0, clients).Select(TinyModels.Image).ToArray();
        var answers = await Task.WhenAll(images.Select(async image => await ServingServer.JsonAsync(await server.PredictAsync("tiny", image))));

        for (int i = 0; i < clients; i++)
        {
            var outputs = answers[i].GetProperty("outputs").EnumerateArray().Select(o => o.GetSingle()).ToArray();
            Assert.That(outputs, Is.EqualTo(ServingServer.Offline(folder.Path, images[i])).Within(1e-5), $"client {i} got someone else's answer");
        }
        var batcher = server.Store.Models["tiny"].Batcher;
        Assert.That(batcher.LargestBatch, Is.GreaterThan(1), "no batch of more than one example formed");
        Assert.That(batcher.Batches, Is.LessThan(clients));
        Assert.That(answers.Max(a => a.GetProperty("batch_size").GetInt32()), Is.EqualTo(batcher.LargestBatch));
        Assert.That(await server.MetricAsync("tensorium_batch_size_sum{model=\"tiny\"}"), Is.EqualTo(clients));
        Assert.That(await server.MetricAsync("tensorium_batch_size_count{model=\"tiny\"}"), Is.EqualTo(batcher.Batches));
    }

    [Test]
    public async Task RequestsThatWaitedBehindABusyModelRunTogetherAsSoonAsItIsFree()
    {
        using var folder = new DataTempFolder();
        // Long enough that a second MaxDelay wait stands out from a slow machine's scheduling noise.
        var delay = TimeSpan.FromSeconds(1.5);
        var (served, gated) = TinyModels.ServeGatedClassifier(folder.Path, new ServingOptions { MaxDelay = delay });
        try
        {
            var first = served.Batcher.Enqueue(TinyModels.Image(1), 1, CancellationToken.None)!;
            Assert.That(gated.Entered.Wait(TimeSpan.FromSeconds(10)), Is.True, "the first batch never reached the forward pass");

            // Three requests queue while the model is busy, for longer than MaxDelay.
            var behind = Enumerable.Range(2, 3).Select(i => served.Batcher.Enqueue(TinyModels.Image(i), 1, CancellationToken.None)!).ToArray();
            await Task.Delay(delay + TimeSpan.FromMilliseconds(100));
            var freed = System.Diagnostics.Stopwatch.StartNew();
            gated.Gate.Set();
            var answers = await Task.WhenAll(behind);

            // Waiting MaxDelay again would take at least the whole delay; running at once takes milliseconds.
            Assert.That(freed.Elapsed, Is.LessThan(delay), "the waiting requests waited MaxDelay again once the model was free");
            Assert.That(answers.Select(a => a.BatchSize), Is.All.EqualTo(3), "the requests that queued behind the busy model ran as one batch");
            Assert.That((await first).BatchSize, Is.EqualTo(1));
        }
        finally
        {
            gated.Gate.Set();   // a failed assert above left the batch inside the model: let it out, or Retire waits on it
            served.Retire();
        }
    }

    [Test]
    public async Task AnEndlessMaxDelayWaitsForAFullBatch()
    {
        using var folder = new DataTempFolder();
        TinyModels.SaveClassifier(folder.Path);
        var served = new ServedModel(ModelFiles.Load(ModelFiles.CardPath(folder.Path, "tiny")),
            new ServingOptions { MaxDelay = TimeSpan.MaxValue, MaxBatchSize = 2 }, new ServingMetrics());
        try
        {
            var first = served.Batcher.Enqueue(TinyModels.Image(1), 1, CancellationToken.None)!;
            await Task.Delay(200);
            Assert.That(served.Batcher.Waiting, Is.EqualTo(1), "the first request did not wait for company");
            var second = served.Batcher.Enqueue(TinyModels.Image(2), 1, CancellationToken.None)!;
            var answers = await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.That(answers.Select(a => a.BatchSize), Is.All.EqualTo(2));
        }
        finally
        {
            served.Retire();
        }
    }

    [Test]
    public async Task AFullQueueAnswers503WithRetryAfter()
    {
        using var folder = new DataTempFolder();
        TinyModels.SaveClassifier(folder.Path);
        // The first request waits a second for company, so two requests fill the queue.
        await using var server = await ServingServer.StartAsync(folder.Path, new ServingOptions { MaxDelay = TimeSpan.FromSeconds(1), QueueCapacity = 2 });
        var first = server.PredictAsync("tiny", TinyModels.Image(1));
        var second = server.PredictAsync("tiny", TinyModels.Image(2));
        var batcher = server.Store.Models["tiny"].Batcher;
        await ServingServer.WaitUntil(() => batcher.Waiting == 2, "two requests wait");

        using var refused = await server.PredictAsync("tiny", TinyModels.Image(3));
        string detail = await ServingServer.ProblemAsync(refused, 503);
        Assert.That(refused.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(detail, Does.Contain("limit is 2"));
        Assert.That(await server.MetricAsync("tensorium_rejected_requests_total{model=\"tiny\"}"), Is.EqualTo(1));

        // The queued ones are still answered, together.
        var answers = await Task.WhenAll(ServingServer.JsonAsync(await first), ServingServer.JsonAsync(await second));
        Assert.That(answers.Select(a => a.GetProperty("batch_size").GetInt32()), Is.All.EqualTo(2));
    }

    [Test]
    public async Task ACancelledRequestIsDroppedFromTheQueue()
    {
        using var folder = new DataTempFolder();
        TinyModels.SaveClassifier(folder.Path);
        await using var server = await ServingServer.StartAsync(folder.Path, new ServingOptions { MaxDelay = TimeSpan.FromMilliseconds(1500) });
        var batcher = server.Store.Models["tiny"].Batcher;
        using var cancel = new CancellationTokenSource();
        var abandoned = server.PredictAsync("tiny", TinyModels.Image(1), cancel.Token);
        await ServingServer.WaitUntil(() => batcher.Waiting == 1, "the first request waits");
        cancel.Cancel();   // the client goes away: its connection closes
        Assert.That(async () => await abandoned, Throws.InstanceOf<OperationCanceledException>());
        await Task.Delay(200);   // Kestrel notices the closed connection

        var kept = await ServingServer.JsonAsync(await server.PredictAsync("tiny", TinyModels.Image(2)));
        Assert.That(kept.GetProperty("batch_size").GetInt32(), Is.EqualTo(1), "the abandoned request ran with the kept one");
        Assert.That(await server.MetricAsync("tensorium_dropped_requests_total{model=\"tiny\"}"), Is.EqualTo(1));
        Assert.That(batcher.Batches, Is.EqualTo(1));
    }

    [Test]
    public async Task GenerationsBeyondTheLimitAreRefused503WithRetryAfter()
    {
        using var folder = new DataTempFolder();
        TinyModels.SaveLanguageModel(folder.Path);
        await using var server = await ServingServer.StartAsync(folder.Path, new ServingOptions { MaxConcurrentGenerations = 1, MaxGeneratedTokens = 1_000_000 });

        // A long streamed generation holds the only slot until its client goes away.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/models/chars/generate")
        {
            Content = new StringContent("{\"prompt\": \"ab\", \"max_tokens\": 1000000}", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var running = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var reader = new StreamReader(await running.Content.ReadAsStreamAsync());
        Assert.That(await reader.ReadLineAsync(), Does.StartWith("data: "), "the first generation streams");

        using var refused = await server.PostAsync("/v1/models/chars/generate", "{\"prompt\": \"ab\", \"max_tokens\": 3}");
        string detail = await ServingServer.ProblemAsync(refused, 503);
        Assert.That(refused.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(detail, Does.StartWith("POST /v1/models/chars/generate: ").And.Contain("the limit is 1"));

        // The client goes away: its generation stops and frees the slot.
        reader.Dispose();
        running.Dispose();
        var served = server.Store.Models["chars"];
        await ServingServer.WaitUntil(() => served.Generations == 0, "the abandoned generation stops");
        await ServingServer.JsonAsync(await server.PostAsync("/v1/models/chars/generate", "{\"prompt\": \"ab\", \"max_tokens\": 3}"));
    }

    [Test]
    public async Task AMaxBatchSizeFarAboveTheLoadStillAnswers()
    {
        // --max-batch 268435456 passes validation, but MaxBatchSize x 16 input values (2^32)
        // wrapped to an input buffer of length 0: every predict was a 500.
        using var folder = new DataTempFolder();
        TinyModels.SaveClassifier(folder.Path);
        await using var server = await ServingServer.StartAsync(folder.Path, new ServingOptions { MaxBatchSize = 1 << 28, MaxDelay = TimeSpan.Zero });
        var image = TinyModels.Image(3);
        var json = await ServingServer.JsonAsync(await server.PredictAsync("tiny", image));
        var outputs = json.GetProperty("outputs").EnumerateArray().Select(o => o.GetSingle()).ToArray();
        Assert.That(outputs, Is.EqualTo(ServingServer.Offline(folder.Path, image)).Within(1e-5));
    }
}
