using Microsoft.Extensions.Logging.Abstractions;
using Tensorium.Models;
using Tensorium.Serving;
using Tensorium.Tests.Data;

namespace Tensorium.Tests.Serving;

/// <summary>The model store on its own (no HTTP): reloads racing with requests, and shutdown.</summary>
[NonParallelizable]
public class ModelStoreTests
{
    private static ModelStore Store(string folder, ServingOptions? options = null) =>
        new((options ?? new ServingOptions()) with { ModelsDirectory = folder, HotReload = false },
            new ServingMetrics(), ModelRegistry.WithBuiltIns(), NullLogger<ModelStore>.Instance);

    [Test]
    public void RequestsNeverFindAServedModelMissingWhileItIsReloaded()
    {
        using var folder = new DataTempFolder();
        TinyModels.SaveClassifier(folder.Path);
        using var store = Store(folder.Path);
        Assert.That(store.Reload("tiny"), Is.True);

        // Requests look the model up while it is swapped again and again; each must get one version or the other.
        int missed = 0;
        using var stop = new CancellationTokenSource();
        var requests = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var lease = store.Acquire("tiny", "test");
                }
                catch (ProblemException)
                {
                    Interlocked.Increment(ref missed);
                }
            }
        })).ToArray();
        for (int i = 0; i < 200; i++) Assert.That(store.Reload("tiny"), Is.True);
        stop.Cancel();
        Task.WaitAll(requests);
        Assert.That(missed, Is.Zero, "a request was answered 404 while the model was being reloaded");
    }

    [Test]
    public void AReloadAfterDisposeLoadsNothing()
    {
        using var folder = new DataTempFolder();
        TinyModels.SaveClassifier(folder.Path);
        var store = Store(folder.Path);
        Assert.That(store.Reload("tiny"), Is.True);
        var served = store.Models["tiny"];
        store.Dispose();
        Assert.That(served.IsDisposed, Is.True, "Dispose frees the models served");

        // What a reload timer that fires late does: it must not load a model nobody would free.
        Assert.That(store.Reload("tiny"), Is.False);
        Assert.That(store.Models, Is.Empty);
    }
}
