using Tensorium.Models;
using Tensorium.Serving;
using Tensorium.Tests.Data;

namespace Tensorium.Tests.Serving;

/// <summary>Hot reload and bad model files: swaps without dropping requests, corrupt files skipped (issue 14).</summary>
[NonParallelizable]
public class ServingReloadTests
{
    private static readonly ServingOptions Fast = new() { MaxDelay = TimeSpan.FromMilliseconds(1), ReloadDelay = TimeSpan.FromMilliseconds(100) };

    private static float[] Outputs(System.Text.Json.JsonElement json) => [.. json.GetProperty("outputs").EnumerateArray().Select(o => o.GetSingle())];

    [Test]
    public async Task ReplacedFilesSwapTheModelInWithoutDroppingRequests()
    {
        using var folder = new DataTempFolder();
        TinyModels.SaveClassifier(folder.Path, seed: 1);
        await using var server = await ServingServer.StartAsync(folder.Path, Fast);
        var image = TinyModels.Image(4);
        var before = server.Store.Models["tiny"];
        Assert.That(Outputs(await ServingServer.JsonAsync(await server.PredictAsync("tiny", image))), Is.EqualTo(ServingServer.Offline(1, image)).Within(1e-5));

        // Clients keep asking while the files are replaced; every answer must be a 200 from one version or the other.
        using var stop = new CancellationTokenSource();
        var statuses = new System.Collections.Concurrent.ConcurrentBag<int>();
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await server.PredictAsync("tiny", image);
                statuses.Add((int)response.StatusCode);
            }
        })).ToArray();
        TinyModels.SaveClassifier(folder.Path, seed: 2);
        var expected = ServingServer.Offline(2, image);
        await ServingServer.WaitUntil(async () => Outputs(await ServingServer.JsonAsync(await server.PredictAsync("tiny", image)))
            .Zip(expected).All(p => Math.Abs(p.First - p.Second) < 1e-5), "the new weights answer");
        await Task.Delay(100);
        stop.Cancel();
        await Task.WhenAll(clients);

        Assert.That(statuses, Is.Not.Empty);
        Assert.That(statuses, Is.All.EqualTo(200));
        Assert.That(before.IsDisposed, Is.True, "the replaced model's weights are freed once its requests are done");
        Assert.That(await server.MetricAsync("tensorium_model_reloads_total{model=\"tiny\"}"), Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public async Task ARetiredModelOutlivesABatchWhoseClientLeftDuringTheForwardPass()
    {
        using var folder = new DataTempFolder();
        var (served, gated) = TinyModels.ServeGatedClassifier(folder.Path, new ServingOptions { MaxDelay = TimeSpan.Zero });

        // What PredictAsync does: hold the model, queue the example, wait for the answer.
        Assert.That(served.TryAcquire(), Is.True);
        using var aborted = new CancellationTokenSource();
        var answer = served.Batcher.Enqueue(TinyModels.Image(1), 1, aborted.Token)!;
        Assert.That(gated.Entered.Wait(TimeSpan.FromSeconds(10)), Is.True, "the batch never reached the forward pass");

        // Mid-forward: hot reload retires the model, then the client disconnects, which ends
        // the request's wait and its lease. The batch still reads the weights.
        served.Retire();
        aborted.Cancel();
        served.Release();
        Assert.That(served.IsDisposed, Is.False, "the retired model was freed while its batch was still in the forward pass");

        gated.Gate.Set();
        await answer.WaitAsync(TimeSpan.FromSeconds(10));
        await served.Batcher.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(gated.SawFreedWeights, Is.False, "the forward pass ran on freed weights");
        Assert.That(served.IsDisposed, Is.True, "the retired model is freed once its last batch has run");
    }

    [Test]
    public async Task ACorruptModelAtStartUpIsReportedAndSkipped()
    {
        using var folder = new DataTempFolder();
        TinyModels.SaveClassifier(folder.Path, "good");
        TinyModels.SaveClassifier(folder.Path, "broken");
        File.WriteAllText(ModelFiles.WeightsPath(folder.Path, "broken"), "this is not a safetensors file");
        File.WriteAllText(ModelFiles.CardPath(folder.Path, "garbled"), "{ not json");
        await using var server = await ServingServer.StartAsync(folder.Path, Fast);

        var ready = await ServingServer.JsonAsync(await server.Client.GetAsync("/readyz"));
        Assert.That(ready.GetProperty("models").EnumerateArray().Select(m => m.GetString()), Is.EqualTo(new[] { "good" }));
        var failures = ready.GetProperty("failures");
        Assert.That(failures.GetProperty("broken").GetString(), Does.Contain("broken.safetensors"));
        Assert.That(failures.GetProperty("garbled").GetString(), Does.Contain("garbled.json"));
        await ServingServer.JsonAsync(await server.PredictAsync("good", TinyModels.Image(1)));
        await ServingServer.ProblemAsync(await server.PredictAsync("broken", TinyModels.Image(1)), 404);
        Assert.That(await server.MetricAsync("tensorium_model_load_failures_total{model=\"broken\"}"), Is.EqualTo(1));
    }

    [Test]
    public async Task ACorruptReplacementKeepsThePreviousVersionServing()
    {
        using var folder = new DataTempFolder();
        TinyModels.SaveClassifier(folder.Path, seed: 1);
        await using var server = await ServingServer.StartAsync(folder.Path, Fast);
        var image = TinyModels.Image(2);

        // Replaced atomically, as a deployment would, but with a broken file.
        string temp = Path.Combine(folder.Path, ".upload.tmp");
        File.WriteAllText(temp, "truncated");
        File.Move(temp, ModelFiles.WeightsPath(folder.Path, "tiny"), overwrite: true);
        await ServingServer.WaitUntil(() => Task.FromResult(server.Store.Failures.ContainsKey("tiny")), "the broken file is reported");

        Assert.That(Outputs(await ServingServer.JsonAsync(await server.PredictAsync("tiny", image))), Is.EqualTo(ServingServer.Offline(1, image)).Within(1e-5));
        TinyModels.SaveClassifier(folder.Path, seed: 3);
        await ServingServer.WaitUntil(() => Task.FromResult(!server.Store.Failures.ContainsKey("tiny")), "the fixed file loads");
        Assert.That(Outputs(await ServingServer.JsonAsync(await server.PredictAsync("tiny", image))), Is.EqualTo(ServingServer.Offline(3, image)).Within(1e-5));
    }

    [Test]
    public async Task ModelsAppearAndDisappearWithTheirCards()
    {
        using var folder = new DataTempFolder();
        TinyModels.SaveClassifier(folder.Path, "first");
        await using var server = await ServingServer.StartAsync(folder.Path, Fast);
        TinyModels.SaveClassifier(folder.Path, "second");
        await ServingServer.WaitUntil(async () => (await server.PredictAsync("second", TinyModels.Image(1))).IsSuccessStatusCode, "the new model is served");
        File.Delete(ModelFiles.CardPath(folder.Path, "first"));
        await ServingServer.WaitUntil(async () => (int)(await server.PredictAsync("first", TinyModels.Image(1))).StatusCode == 404, "the removed model is gone");
    }
}
