using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Tensorium.Data;
using Tensorium.Kernels.Cpu;
using Tensorium.Models;
using Tensorium.Serving;

namespace Tensorium.Bench;

/// <summary>
/// <c>./build.sh bench Serving</c>: a bounded load run against the serving host on loopback. The
/// CNN (artifacts/examples/cnn if trained, else the same architecture with fresh weights) is
/// served and hit by concurrent clients with one image per request; the run stops after a
/// fixed number of requests and reports throughput, latency percentiles, the batch-size
/// histogram, errors and where the CPU went, next to the same model's offline figure (Predict
/// on batches of 64 in this process, measured right before and right after the load). Options: --requests N (20000), --clients N (64), --max-delay-ms N (5),
/// --max-batch N (64: the server's; the offline figure stays at 64), and for experiments the served
/// model's --model-threads N and its workers' --spin-us N (CpuParallel.Threads and WorkerSpin).
/// </summary>
public static class ServingLoad
{
    /// <summary>The batch size of the offline figure, and the server's largest batch.</summary>
    private const int Batch = 64;

    /// <summary>Runs the load test; the exit code is 1 when any request failed.</summary>
    public static int Run(string[] args)
    {
        int requests = Option(args, "--requests", 20_000), clients = Option(args, "--clients", 64), delayMs = Option(args, "--max-delay-ms", 5);
        int maxBatch = Option(args, "--max-batch", Batch);
        // How the served model's kernels use the cores, for experiments: their threads and the workers' spin after each loop.
        int servedThreads = Option(args, "--model-threads", CpuParallel.Threads);
        var servedSpin = TimeSpan.FromMicroseconds(Option(args, "--spin-us", (int)CpuParallel.WorkerSpin.TotalMicroseconds));
        var (offlineThreads, offlineSpin) = (CpuParallel.Threads, CpuParallel.WorkerSpin);
        Console.WriteLine($"served model: {servedThreads} threads, workers spin {servedSpin.TotalMicroseconds:F0} us (offline: {offlineThreads} threads, {offlineSpin.TotalMicroseconds:F0} us)");
        // Client, server and model share this machine's cores: say how busy it was, since the figures depend on it.
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {load} at the start; client and server run in this process");
        string folder = PrepareModel();
        using var model = ModelFiles.Load(ModelFiles.CardPath(folder, "cnn"));

        // Offline: the same model's Predict on batches of 64, as a program embedding it would run it.
        var images = Enumerable.Range(0, Batch).Select(i => Image(i)).ToArray();
        using var input = Tensor.FromArray(images.SelectMany(i => i).ToArray(), Batch, 1, 28, 28);
        // Warm up first: the JIT recompiles the kernels' hot loops in the first seconds (tiering).
        for (var warm = Stopwatch.StartNew(); warm.Elapsed < TimeSpan.FromSeconds(2);) model.Classify(input);
        (CpuParallel.Threads, CpuParallel.WorkerSpin) = (servedThreads, servedSpin);
        EndpointCost(model.Card, images[0]);
        double OfflineBatchSeconds()
        {
            (CpuParallel.Threads, CpuParallel.WorkerSpin) = (offlineThreads, offlineSpin);
            var clock = Stopwatch.StartNew();
            int batches = 0;
            while (clock.Elapsed < TimeSpan.FromSeconds(3) || batches < 10) { model.Classify(input); batches++; }
            double seconds = clock.Elapsed.TotalSeconds / batches;
            Console.WriteLine($"offline: Predict on batches of {Batch}: {Batch / seconds:N0} images/s ({seconds * 1000:F1} ms a batch, {batches} batches)");
            (CpuParallel.Threads, CpuParallel.WorkerSpin) = (servedThreads, servedSpin);
            return seconds;
        }

        var options = new ServingOptions
        {
            ModelsDirectory = folder, Port = 0, LoopbackOnly = true, HotReload = false,
            MaxBatchSize = maxBatch, MaxDelay = TimeSpan.FromMilliseconds(delayMs), QueueCapacity = 4 * clients,
        };
        var app = ServingHost.Build(options, configure: b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        app.StartAsync().GetAwaiter().GetResult();
        try
        {
            return Load(app, requests, clients, images, OfflineBatchSeconds, delayMs).GetAwaiter().GetResult();
        }
        finally
        {
            app.StopAsync().GetAwaiter().GetResult();
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// Warms the server up, runs the timed load and reports it. The offline figure it is compared
    /// with is the mean of two measurements (<paramref name="offline"/>, seconds a batch), right
    /// before and right after the load, so that a change in how busy the machine is during the
    /// run shows as two different offline figures. Both are taken after the warm-up: at the very
    /// start other processes may still be settling (or being paused by the caller).
    /// </summary>
    private static async Task<int> Load(Microsoft.AspNetCore.Builder.WebApplication app, int requests, int clients, float[][] images,
        Func<double> offline, int delayMs)
    {
        var address = ServingHost.Address(app);
        // Like wrk: every request is encoded once, up front, and each client keeps one connection
        // open (HttpConnection), so the clients spend as little of the shared cores as they can.
        using var http = new HttpMessageInvoker(new SocketsHttpHandler { UseProxy = false });
        var predict = new Uri(address, "/v1/models/cnn/predict");
        while ((await Get(http, new Uri(address, "/readyz"))).Status != HttpStatusCode.OK) await Task.Delay(50);
        var posts = images.Select(i => HttpConnection.Post(predict, System.Text.Encoding.UTF8.GetBytes("{\"inputs\":[" + string.Join(",", i.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]}"))).ToArray();
        // Warm up before timing, until the JIT has settled: under load it recompiles thousands of
        // hot methods (ASP.NET Core's, the client's, ours) with profile data (tiered PGO) on a
        // background thread, for many seconds on two cores, and that would be measured too.
        int warmupErrors = 0, rounds = 0;
        long compiled;
        var warming = Stopwatch.StartNew();
        do
        {
            compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
            warmupErrors += await Clients(address, posts, clients, new double[Math.Max(requests / 4, clients)]);
            rounds++;
        }
        while (System.Runtime.JitInfo.GetCompiledMethodCount() - compiled > 20 && warming.Elapsed < TimeSpan.FromSeconds(60));
        Console.WriteLine($"warm-up: {rounds} rounds of {Math.Max(requests / 4, clients):N0} requests in {warming.Elapsed.TotalSeconds:F1} s, until the JIT compiled at most 20 methods in a round ({System.Runtime.JitInfo.GetCompiledMethodCount() - compiled} in the last)");
        string before = (await Get(http, new Uri(address, "/metrics"))).Text;
        double offlineBefore = offline();

        var latencies = new double[requests];
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        int[] gcBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        long compiledBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var threadsBefore = ThreadCpu.Snapshot();
        double serverOnlyRate = double.NaN, seconds = 0;
        var cpu = TimeSpan.Zero;
        ThreadCpu? threadsAfter = null;
        var clock = Stopwatch.StartNew();
        int errors = await Clients(address, posts, clients, latencies, () =>
        {
            seconds = clock.Elapsed.TotalSeconds;
            cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            threadsAfter = ThreadCpu.Snapshot();
        });
        Console.WriteLine($"process CPU (client and server): {cpu.TotalSeconds:F1} s ({cpu.TotalSeconds / seconds / Environment.ProcessorCount:P0} of {Environment.ProcessorCount} cores), {cpu.TotalMilliseconds * 1000 / requests:F0} us a request; GC gen0/1/2: {GC.CollectionCount(0) - gcBefore[0]}/{GC.CollectionCount(1) - gcBefore[1]}/{GC.CollectionCount(2) - gcBefore[2]}; methods JIT-compiled: {System.Runtime.JitInfo.GetCompiledMethodCount() - compiledBefore}");
        if (ThreadCpu.IsAvailable && threadsAfter != null)
        {
            // Where that CPU went, by thread (the thread pool runs both Kestrel and the clients).
            var split = threadsAfter.Since(threadsBefore).ToList();
            double counted = split.Sum(s => s.Seconds);
            Console.WriteLine("  CPU by thread, us a request (in the kernel): " + string.Join(", ", split.Select(s => $"{s.Group} {s.Seconds * 1e6 / requests:F0} ({s.KernelSeconds * 1e6 / requests:F0})"))
                + $", threads that ended {Math.Max(0, cpu.TotalSeconds - counted) * 1e6 / requests:F0}");
            // The clients would run on other machines in production: what the server alone spent, and what that would allow.
            double client = split.Where(s => s.Group == "bench clients").Sum(s => s.Seconds), server = cpu.TotalSeconds - client;
            double model = split.Where(s => s.Group.StartsWith("model", StringComparison.Ordinal)).Sum(s => s.Seconds);
            Console.WriteLine($"  server {server * 1e6 / requests:F0} us a request (model {model * 1e6 / requests:F0}, the rest {(server - model) * 1e6 / requests:F0}), clients {client * 1e6 / requests:F0} ({client / cpu.TotalSeconds:P0} of the CPU); "
                + $"at the same share of the cores busy ({cpu.TotalSeconds / seconds / Environment.ProcessorCount:P0}) without the clients' CPU: about {requests / seconds * cpu.TotalSeconds / server:N0} requests/s");
            serverOnlyRate = requests / seconds * cpu.TotalSeconds / server;
        }
        string after = (await Get(http, new Uri(address, "/metrics"))).Text;
        double batchSeconds = (offlineBefore + offline()) / 2, offlineRate = Batch / batchSeconds;

        Array.Sort(latencies);
        double throughput = requests / seconds, p50 = latencies[requests / 2], p99 = latencies[(int)(requests * 0.99)];
        double p99Goal = delayMs + 2 * batchSeconds * 1000;
        Console.WriteLine($"served: {requests:N0} requests from {clients} clients in {seconds:F1} s: {throughput:N0} requests/s ({throughput / offlineRate:P0} of offline, {offlineRate:N0} images/s in the mean of both)");
        Console.WriteLine($"latency: p50 {p50:F1} ms, p99 {p99:F1} ms (goal: p99 <= max delay {delayMs} ms + 2 x {batchSeconds * 1000:F1} ms = {p99Goal:F1} ms)");
        // The tail's shape: with 64 clients a forward pass answers about 64 requests at once, so the
        // slowest 1% is the few slowest batch cycles of the run (a pause of the machine shows here).
        Console.WriteLine($"  p90 {latencies[(int)(requests * 0.9)]:F1} ms, p95 {latencies[(int)(requests * 0.95)]:F1} ms, p99.9 {latencies[(int)(requests * 0.999)]:F1} ms, max {latencies[^1]:F1} ms");
        Console.WriteLine($"errors: {errors}{(warmupErrors > 0 ? $" (and {warmupErrors} while warming up)" : "")}");
        Console.WriteLine("batch sizes (forward passes during the run):");
        foreach (var (range, count) in BatchHistogram(before, after)) Console.WriteLine($"  {range,-9} {count,8:N0}");
        if (!double.IsNaN(serverOnlyRate)) Console.WriteLine($"without the clients' CPU (estimate above): {serverOnlyRate / offlineRate:P0} of offline");
        Console.WriteLine($"goal served >= 70% of offline: {(throughput >= 0.7 * offlineRate ? "met" : "missed")}; goal p99: {(p99 <= p99Goal ? "met" : "missed")}");
        return errors + warmupErrors == 0 ? 0 : 1;
    }

    /// <summary>
    /// <paramref name="clients"/> clients, each a thread of its own (named "bench client", so its
    /// CPU is told apart from the server's) sending its next request when its last one was
    /// answered, until <paramref name="latencies"/> (one per request, in ms) is filled; returns
    /// how many requests failed.
    /// </summary>
    private static Task<int> Clients(Uri address, byte[][] requests, int clients, double[] latencies, Action? whenDone = null)
    {
        int next = -1, errors = 0;
        // The threads stay alive until whenDone has run: it reads their CPU time, which a thread that ended no longer has.
        var done = new CountdownEvent(clients);
        var mayEnd = new ManualResetEventSlim();
        var threads = Enumerable.Range(0, clients).Select(c => new Thread(() =>
        {
            var connection = HttpConnection.Open(address);
            try
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < latencies.Length)
                {
                    var start = Stopwatch.GetTimestamp();
                    int status;
                    try
                    {
                        status = connection.Send(requests[i % requests.Length]);
                    }
                    catch (Exception e) when (e is IOException or SocketException)
                    {
                        status = 0;   // counted as an error; the next request gets a new connection
                        connection.Dispose();
                        connection = HttpConnection.Open(address);
                    }
                    latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    if (status != 200) Interlocked.Increment(ref errors);
                }
            }
            finally
            {
                connection.Dispose();
                done.Signal();
                mayEnd.Wait();
            }
        }, maxStackSize: 256 * 1024) { IsBackground = true, Name = "bench client" }).ToList();
        // A thread of its own waits for them, so the caller's await does not hold a pool thread.
        return Task.Factory.StartNew(() =>
        {
            foreach (var t in threads) t.Start();
            done.Wait();
            whenDone?.Invoke();
            mayEnd.Set();
            foreach (var t in threads) t.Join();
            mayEnd.Dispose();
            done.Dispose();
            return errors;
        }, TaskCreationOptions.LongRunning);
    }

    private static async Task<(HttpStatusCode Status, string Text)> Get(HttpMessageInvoker http, Uri uri)
    {
        using var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, uri), CancellationToken.None);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Forward passes per batch-size bucket between two /metrics scrapes (prometheus buckets are cumulative).</summary>
    private static IEnumerable<(string Range, long Count)> BatchHistogram(string before, string after)
    {
        static SortedDictionary<double, long> Buckets(string text)
        {
            var result = new SortedDictionary<double, long>();
            const string prefix = "tensorium_batch_size_bucket{model=\"cnn\",le=\"";
            foreach (var line in text.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal)))
            {
                string le = line[prefix.Length..line.IndexOf('"', prefix.Length)];
                double bound = le == "+Inf" ? double.PositiveInfinity : double.Parse(le, CultureInfo.InvariantCulture);
                result[bound] = (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
            return result;
        }
        var a = Buckets(before);
        var b = Buckets(after);
        double lower = 0;
        long cumulative = 0;
        foreach (var (bound, total) in b)
        {
            long count = total - a.GetValueOrDefault(bound) - cumulative;
            cumulative += count;
            if (count > 0) yield return (lower + 1 == bound || (lower == 0 && bound == 1) ? $"{bound}" : $"{lower + 1}-{bound}", count);
            lower = bound;
        }
    }

    /// <summary>
    /// Times the predict endpoint's own work on one request, alone on this thread: reading the
    /// body's 784 numbers (InputParser) and writing the answer (PredictAnswer), so the run's
    /// Kestrel figure can be split into ours and the HTTP stack's.
    /// </summary>
    private static void EndpointCost(ModelCard card, float[] image)
    {
        byte[] body = System.Text.Encoding.UTF8.GetBytes("{\"inputs\":[" + string.Join(",", image.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]}");
        var inputs = InputParser.Parse(body, card, Batch);
        float[] logits = [.. Enumerable.Range(0, 10).Select(i => i * 0.1f)];
        float[] probabilities = [.. logits.Select(l => MathF.Exp(l) / logits.Sum(MathF.Exp))];
        var output = new BatchOutput(logits, probabilities, 10, Batch);
        var answer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        double Micros(Action step)
        {
            for (int i = 0; i < 2000; i++) step();   // warm (tiering)
            var clock = Stopwatch.StartNew();
            const int times = 5000;
            for (int i = 0; i < times; i++) step();
            return clock.Elapsed.TotalMicroseconds / times;
        }
        double parse = Micros(() => InputParser.Parse(body, card, Batch));
        double write = Micros(() => { answer.ResetWrittenCount(); PredictAnswer.Write(answer, card, inputs, output); });
        Console.WriteLine($"endpoint's own work a request, alone: parse {body.Length:N0} bytes {parse:F1} us, write the {answer.WrittenCount}-byte answer {write:F1} us");
    }

    /// <summary>The folder holding cnn.json + cnn.safetensors: the trained example's, or a fresh one in a temp folder.</summary>
    private static string PrepareModel()
    {
        string trained = Path.Combine("artifacts", "examples");
        if (File.Exists(ModelFiles.CardPath(trained, "cnn")) && File.Exists(ModelFiles.WeightsPath(trained, "cnn")))
        {
            // Copy it, so retraining during the run cannot change what is measured.
            string copy = Directory.CreateTempSubdirectory("tensorium-serving-bench").FullName;
            File.Copy(ModelFiles.CardPath(trained, "cnn"), ModelFiles.CardPath(copy, "cnn"));
            File.Copy(ModelFiles.WeightsPath(trained, "cnn"), ModelFiles.WeightsPath(copy, "cnn"));
            Console.WriteLine($"model: the trained CNN from {trained}");
            return copy;
        }
        string folder = Directory.CreateTempSubdirectory("tensorium-serving-bench").FullName;
        using var model = Architectures.Cnn(1, 28, 10, new Generator(1234));
        ModelFiles.Save(folder, CnnExample.Card("cnn", FashionMnist.ClassNames), model);
        Console.WriteLine("model: the example CNN with fresh weights (train it with ./build.sh demo to serve the trained one)");
        return folder;
    }

    /// <summary>A deterministic 28x28 image in [0, 1].</summary>
    private static float[] Image(int seed) => [.. Enumerable.Range(0, 784).Select(i => ((i * 31 + seed * 17) % 256) / 255f)];

    private static int Option(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
