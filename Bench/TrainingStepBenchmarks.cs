using BenchmarkDotNet.Attributes;
using Tensorium.Kernels.Cpu;
using Tensorium.Layers;
using Tensorium.Optim;
using Tensorium.Profiling;

namespace Tensorium.Bench;

/// <summary>
/// One optimizer step (forward, loss, backward, update) of each example in Examples/, on a
/// synthetic batch of the example's shape, so a whole training step can be profiled. The models
/// are the examples' own (their files are compiled into the bench), with the same optimizers and
/// batch sizes. One CNN epoch on Fashion-MNIST is 938 of the "cnn" steps.
/// </summary>
public class TrainingStepBenchmarks
{
    private Module _model = null!;
    private Optimizer _optimizer = null!;
    private Func<Tensor> _loss = null!;
    private readonly List<Tensor> _batch = [];
    private bool _clip;

    /// <summary>Which example's training step.</summary>
    [ParamsSource(nameof(Models))]
    public string Model { get; set; } = "cnn";

    /// <summary>The environment variable that limits the run to some models (comma-separated), e.g. for one short quiet run each.</summary>
    public const string ModelsVariable = "TENSORIUM_BENCH_MODELS";

    /// <summary>Every example's model, or those named in <see cref="ModelsVariable"/>.</summary>
    public static IEnumerable<string> Models() =>
        Environment.GetEnvironmentVariable(ModelsVariable) is { Length: > 0 } names
            ? names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : ["cnn", "mlp", "lstm", "transformer", "seq2seq", "transfer", "cifar"];

    /// <summary>Builds the model, its optimizer and one batch.</summary>
    [GlobalSetup]
    public void Setup()
    {
        CpuParallel.Threads = BenchSettings.Threads;
        var g = new Generator(1);
        switch (Model)
        {
            case "cnn": Classifier(CnnExample.Build(), [64, 1, 28, 28], g); break;
            case "mlp": Classifier(MlpExample.Build(), [64, 1, 28, 28], g, sgd: true); break;
            case "lstm": Classifier(LstmExample.Build(), [64, 1, 28, 28], g); break;
            case "cifar": Classifier(CnnExample.Build(inChannels: 3, imageSize: 32), [64, 3, 32, 32], g); break;
            case "transfer":
                // Fine-tuning: the convolutional base is frozen, only the dense head trains.
                var cnn = CnnExample.Build(classes: 5);
                TransferExample.FreezeBase(cnn);
                Classifier(cnn, [64, 1, 28, 28], g, classes: 5);
                break;
            case "transformer": Transformer(); break;
            case "seq2seq": Seq2Seq(); break;
            default: throw new ArgumentException($"TrainingStepBenchmarks: unknown model '{Model}'.");
        }
        WarmUp(30, TimeSpan.FromSeconds(3));
    }

    /// <summary>
    /// Steps until the JIT has settled: at least <paramref name="steps"/> steps and <paramref name="least"/>
    /// (30 and 3 s at setup). The runtime recompiles a method with full optimisation only after some
    /// 30 calls, in the background; a step as long as the transformer's (over 250 ms at first) would
    /// otherwise leave BenchmarkDotNet one call per iteration and three warm-up calls, and it
    /// measured unoptimised code (twice the time).
    /// </summary>
    private void WarmUp(int steps, TimeSpan least)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < steps || clock.Elapsed < least; i++) Step();
    }

    /// <summary>A classifier on images [N, C, H, W] with integer labels; Adam 1e-3 (SGD 0.01 for the MLP).</summary>
    private void Classifier(Sequential model, int[] imageShape, Generator g, bool sgd = false, int classes = 10)
    {
        _model = model;
        var trainable = model.Parameters().Where(p => p.RequiresGrad).ToList();
        _optimizer = sgd ? new Sgd(trainable, learningRate: 0.01) : new Adam(trainable, learningRate: 1e-3);
        var images = Keep(Tensor.Uniform(imageShape, generator: g));
        var labels = Keep(Tensor.FromArray(Enumerable.Range(0, imageShape[0]).Select(i => (long)(i % classes)).ToArray()));
        _loss = () => model.Forward(images).CrossEntropy(labels);
    }

    /// <summary>The character language model on random text over an 80-symbol vocabulary (the King James Bible has 75).</summary>
    private void Transformer()
    {
        var random = new Random(1);
        long[] text = Enumerable.Range(0, 100_000).Select(_ => (long)random.Next(80)).ToArray();
        var model = TransformerExample.Build(80, new Generator(1));
        _model = model;
        _optimizer = new AdamW(model.Parameters(), learningRate: 2e-3, beta2: 0.99, weightDecay: 0.01);
        var (x, y) = TransformerExample.RandomBatch(text, random);
        Keep(x);
        Keep(y);
        _loss = () => model.Forward(x).CrossEntropy(y);
        _clip = true;
    }

    /// <summary>The encoder-decoder reversing digit strings, with teacher forcing.</summary>
    private void Seq2Seq()
    {
        var model = Seq2SeqExample.Build(new Generator(1));
        _model = model;
        _optimizer = new Adam(model.Parameters(), learningRate: 1e-3);
        const int n = Seq2SeqExample.BatchSize, length = Seq2SeqExample.Length;
        var (source, targetIn, target) = Seq2SeqExample.MakeData(n, new Random(1));
        var src = Keep(Tensor.FromArray(source, n, length));
        var tgtIn = Keep(Tensor.FromArray(targetIn, n, length));
        var tgt = Keep(Tensor.FromArray(target, n, length));
        _loss = () => model.Forward(src, tgtIn).CrossEntropy(tgt);
        _clip = true;
    }

    private Tensor Keep(Tensor t)
    {
        _batch.Add(t);
        return t;
    }

    /// <summary>Frees the model, optimizer state and batch.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _optimizer.Dispose();
        _model.Dispose();
        foreach (var t in _batch) t.Dispose();
        _batch.Clear();
    }

    /// <summary>
    /// Steps profiled: on a shared 2-core VM five steps of the same warmed-up model took from 115
    /// to 240 ms from one run to the next; twenty average more of that drift out.
    /// </summary>
    private const int ProfiledSteps = 20;

    /// <summary>
    /// <c>Bench --profile MODEL [PATH]</c>: the benchmark's warm-up steps of <paramref name="model"/>, a
    /// second warm-up under a profiler whose records are dropped, then <see cref="ProfiledSteps"/> under the <see cref="Profiler"/>; prints the op table, and with <paramref name="path"/>
    /// writes it to PATH.txt and the Chrome trace to PATH.trace.json.
    /// </summary>
    public static void Profile(string model, string? path)
    {
        var bench = new TrainingStepBenchmarks { Model = model };
        bench.Setup();
        try
        {
            // A profiled stretch first, thrown away: the profiler's own code (a wrapper per op, the
            // record keeping) is compiled on first use, and the runtime's background recompilation of
            // it competes with the model for the two cores. Without it, the MLP's matrix products
            // took twice as long in the 20 profiled steps as in the 20 after them. One second of it
            // was not always enough: the CNN's first ReLU once measured 687 µs a call, and 186 µs
            // after 3 s more (a run with tiered compilation off gave 223 µs).
            using (Profiler.Start()) bench.WarmUp(ProfiledSteps, TimeSpan.FromSeconds(3));
            var profiler = Profiler.Start();
            using (profiler)
                for (int i = 0; i < ProfiledSteps; i++) bench.Step();
            string table = $"{model}: {ProfiledSteps} training steps\n{profiler.Table()}";
            Console.WriteLine(table);
            if (path == null) return;
            if (Path.GetDirectoryName(Path.GetFullPath(path)) is string folder) Directory.CreateDirectory(folder);
            File.WriteAllText(path + ".txt", table);
            profiler.WriteChromeTrace(path + ".trace.json");
            profiler.WriteChart(path + ".svg", $"{model}: {ProfiledSteps} training steps, slowest ops");
            Console.WriteLine($"wrote {path}.txt, {path}.trace.json and {path}.svg");
        }
        finally
        {
            bench.Cleanup();
        }
    }

    /// <summary>Forward, cross-entropy, backward, gradient clipping where the example clips, and the optimizer update, with everything temporary freed.</summary>
    [Benchmark]
    public void Step()
    {
        using var scope = new TensorScope();
        var loss = _loss();
        _optimizer.ZeroGrad();
        loss.Backward();
        if (_clip) GradClip.ClipGradNorm(_model.Parameters(), 1.0);
        _optimizer.Step();
    }
}
