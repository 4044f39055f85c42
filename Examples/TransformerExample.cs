using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tensorium;
using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Models;
using Tensorium.Optim;

/// <summary>
/// A small causal Transformer character language model (GPT-style, pre-norm) on the King James
/// Bible (Debian's bible-kjv-text, read through the <c>bible</c> command) or any --text FILE.
/// Token embedding + learned positions, 2 encoder blocks run with a causal mask (d_model 128,
/// 4 heads, feed-forward 512, GELU), a final LayerNorm and a linear read-out; AdamW with warm-up
/// and cosine decay, gradient clipping at 1. Reports validation loss in bits per character and
/// samples a few lines at temperature 0.8 at the end.
/// </summary>
static class TransformerExample
{
    internal const int Context = 64, BatchSize = 32;
    const int DModel = 128, Heads = 4, NumLayers = 2, FeedForward = 512;
    const int ValidationBatches = 8;

    /// <summary>The example's language model (<see cref="CharTransformer"/>) for a vocabulary of <paramref name="vocabulary"/> characters.</summary>
    internal static CharTransformer Build(int vocabulary, Generator generator) =>
        new(vocabulary, Context, DModel, Heads, NumLayers, FeedForward, generator);

    /// <summary>The card saved with the weights: the architecture, the alphabet and the validation loss.</summary>
    internal static ModelCard Card(string alphabet, double validationBitsPerChar) => new()
    {
        Name = "transformer",
        Architecture = Architectures.CharTransformerName,
        Kind = ModelKind.LanguageModel,
        Hyperparameters = new JsonObject { ["context"] = Context, ["d_model"] = DModel, ["heads"] = Heads, ["layers"] = NumLayers, ["feed_forward"] = FeedForward },
        Input = new InputSpec { Shape = [Context], DType = "int64", Minimum = 0, Maximum = alphabet.Length - 1 },
        Vocabulary = alphabet,
        Metrics = new() { ["validation_bits_per_char"] = validationBitsPerChar },
        Description = "Tensorium example 'transformer': a character language model.",
    };

    public static int Run(ExampleOptions options)
    {
        string? text = LoadText(options);
        if (text == null) return 2;
        if (options.MaxExamples is int limit && limit < text.Length) text = text[..limit];
        int split = (int)(text.Length * 0.9);
        if (split < Context + 1 || text.Length - split < Context + 1)
        {
            Console.Error.WriteLine($"transformer: the text has {text.Length} characters; need at least {10 * (Context + 1)} for training and validation windows of {Context}.");
            return 2;
        }
        var tokenizer = new CharTokenizer(text);
        long[] trainIds = tokenizer.Encode(text[..split]), validIds = tokenizer.Encode(text[split..]);
        Console.WriteLine($"{text.Length:N0} characters, vocabulary of {tokenizer.VocabSize}; {trainIds.Length:N0} for training, {validIds.Length:N0} for validation");

        int epochs = options.Epochs ?? 4, stepsPerEpoch = options.Steps ?? 125, totalSteps = epochs * stepsPerEpoch;
        using var model = Build(tokenizer.VocabSize, new Generator(1234));
        Console.WriteLine($"model: {NumLayers} blocks, d_model {DModel}, {Heads} heads, context {Context}: {model.ParameterCount():N0} parameters");
        using var optimizer = new AdamW(model.Parameters(), learningRate: 2e-3, beta2: 0.99, weightDecay: 0.01);
        var schedule = SequenceTraining.WarmupCosine(optimizer, peak: 2e-3, floor: 2e-4, totalSteps);

        var random = new Random(7);
        var validationBatches = MakeValidationBatches(validIds);
        Console.WriteLine($"training {epochs} x {stepsPerEpoch} steps of {BatchSize} windows of {Context} characters; validation on {ValidationBatches * BatchSize} fixed windows");
        Console.WriteLine($"before training: validation {Bpc(Validate(model, validationBatches)):F3} bits/char (uniform guessing: {Math.Log2(tokenizer.VocabSize):F3})");
        // The profile ends with an epoch's last step, before the validation below.
        var profile = StepProfile.For(options, "transformer", stepsPerEpoch);
        var clock = Stopwatch.StartNew();
        double lastValidation = double.NaN;
        int step = 0;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            double lossSum = 0;
            int lossCount = 0;
            for (int s = 0; s < stepsPerEpoch; s++)
            {
                var (x, y) = RandomBatch(trainIds, random);
                using (x)
                using (y)
                using (new TensorScope())
                {
                    var logits = model.Forward(x);
                    var loss = logits.CrossEntropy(y);
                    lossSum += SequenceTraining.Step(loss, model, optimizer, schedule);
                    lossCount++;
                }
                step++;
                profile?.AfterStep(step);
                if (step % 25 == 0 || step == totalSteps)
                {
                    double seconds = clock.Elapsed.TotalSeconds;
                    Console.WriteLine($"step {step,5}/{totalSteps}  train {Bpc(lossSum / lossCount):F3} bits/char  lr {optimizer.LearningRate:E2}  " +
                        $"{(double)step * BatchSize * Context / seconds:N0} chars/s  {seconds:F0} s");
                    lossSum = 0;
                    lossCount = 0;
                }
            }
            lastValidation = Bpc(Validate(model, validationBatches));
            Console.WriteLine($"epoch {epoch}/{epochs}: validation {lastValidation:F3} bits/char");
        }
        profile?.Finish();
        foreach (var (x, y) in validationBatches) { x.Dispose(); y.Dispose(); }
        Console.WriteLine($"final validation loss {lastValidation:F3} bits/char after {totalSteps} steps ({clock.Elapsed.TotalSeconds:F0} s)");

        // The tokenizer's alphabet is in the card: the model is useless without it.
        options.Run("transformer").SaveModel(Card(tokenizer.Alphabet, lastValidation), model, "validation_bits_per_char", higherIsBetter: false);

        Console.WriteLine("\nSamples (temperature 0.8, seed 42):");
        var generator = new Generator(42);
        string[] prompts = ["In the beginning ", "And Jesus said unto them, ", "The LORD is my "];
        if (!prompts.All(p => p.All(c => tokenizer.Alphabet.Contains(c))))
            prompts = [.. Enumerable.Range(0, 3).Select(i => text[(split + i * (text.Length - split) / 3)..][..Math.Min(16, text.Length - split - i * (text.Length - split) / 3)])];
        foreach (var prompt in prompts)
            Console.WriteLine($"  {Sample(model, tokenizer, prompt, 160, 0.8, generator).ReplaceLineEndings(" / ")}");
        return 0;
    }

    /// <summary>The --text file, or the King James Bible from the <c>bible</c> command (one verse a line, references removed).</summary>
    static string? LoadText(ExampleOptions options)
    {
        if (options.TextFile != null)
        {
            if (!File.Exists(options.TextFile))
            {
                Console.Error.WriteLine($"transformer: --text file '{options.TextFile}' does not exist.");
                return null;
            }
            Console.WriteLine($"Reading {options.TextFile}");
            return File.ReadAllText(options.TextFile);
        }
        // "Ge1:1 In the beginning ..." -> "In the beginning ..."
        return KingJamesBible.Read("transformer", ", or train on your own text with --text FILE") is string bible
            ? Regex.Replace(bible, @"^\S+?\d+:\d+ ", "", RegexOptions.Multiline) : null;
    }

    static double Bpc(double natsPerChar) => natsPerChar / Math.Log(2);

    /// <summary>BatchSize random windows: inputs ids[o..o+T) and targets ids[o+1..o+T+1).</summary>
    internal static (Tensor X, Tensor Y) RandomBatch(long[] ids, Random random)
    {
        var offsets = new int[BatchSize];
        for (int b = 0; b < BatchSize; b++) offsets[b] = random.Next(ids.Length - Context - 1);
        return Windows(ids, offsets);
    }

    static (Tensor X, Tensor Y) Windows(long[] ids, int[] offsets)
    {
        var x = new long[offsets.Length * Context];
        var y = new long[offsets.Length * Context];
        for (int b = 0; b < offsets.Length; b++)
        {
            Array.Copy(ids, offsets[b], x, b * Context, Context);
            Array.Copy(ids, offsets[b] + 1, y, b * Context, Context);
        }
        return (Tensor.FromArray(x, offsets.Length, Context), Tensor.FromArray(y, offsets.Length, Context));
    }

    /// <summary>Fixed validation windows spread evenly over the validation text.</summary>
    static List<(Tensor X, Tensor Y)> MakeValidationBatches(long[] ids)
    {
        int count = ValidationBatches * BatchSize;
        long span = ids.Length - Context - 1;
        var offsets = Enumerable.Range(0, count).Select(i => (int)(span * i / count)).ToArray();
        return [.. offsets.Chunk(BatchSize).Select(chunk => Windows(ids, chunk))];
    }

    /// <summary>Mean cross-entropy (nats per character) over the validation windows.</summary>
    static double Validate(CharTransformer model, List<(Tensor X, Tensor Y)> batches)
    {
        double sum = 0;
        using (new EvaluationScope())
        using (Tape.NoGrad())
            foreach (var (x, y) in batches)
                using (new TensorScope())
                    sum += model.Forward(x).CrossEntropy(y).Item();
        return sum / batches.Count;
    }

    /// <summary>Continues <paramref name="prompt"/> by <paramref name="length"/> characters, each drawn from softmax(logits / temperature).</summary>
    static string Sample(CharTransformer model, CharTokenizer tokenizer, string prompt, int length, double temperature, Generator generator)
    {
        var ids = tokenizer.Encode(prompt).ToList();
        using (new EvaluationScope())
        using (Tape.NoGrad())
            for (int i = 0; i < length; i++)
                using (new TensorScope())
                {
                    var window = ids.Skip(Math.Max(0, ids.Count - Context)).ToArray();
                    var logits = model.Forward(Tensor.FromArray(window, 1, window.Length));
                    var last = logits.Narrow(1, window.Length - 1, 1).Reshape(-1).ToArray<float>();
                    double max = last.Max();
                    var weights = last.Select(l => Math.Exp((l - max) / temperature)).ToArray();
                    double u = Tensor.Uniform([1], 0, 1, generator).ToArray<float>()[0] * weights.Sum();
                    int next = 0;
                    for (double acc = weights[0]; acc < u && next < weights.Length - 1; acc += weights[++next]) { }
                    ids.Add(next);
                }
        return tokenizer.Decode(ids.ToArray());
    }
}
