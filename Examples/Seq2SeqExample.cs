using System.Diagnostics;
using System.Text.Json.Nodes;
using Tensorium;
using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Models;
using Tensorium.Optim;

/// <summary>
/// An encoder-decoder Transformer (the original "Attention is all you need" shape, pre-norm)
/// learning to reverse strings of 10 digits: the encoder reads the digits, the decoder writes
/// them backwards one at a time, attending to the encoder's output through cross-attention.
/// Training uses teacher forcing on freshly generated (seeded) strings; evaluation decodes
/// greedily and reports the exact-match accuracy on 1,000 held-out strings.
/// </summary>
static class Seq2SeqExample
{
    internal const int Length = 10, BatchSize = 64;
    const int Digits = 10, Bos = 10, Vocab = 11;
    const int DModel = 64, Heads = 4, EncoderLayers = 2, DecoderLayers = 2, FeedForward = 256, TestCount = 1000;

    /// <summary>The example's model (<see cref="Tensorium.Models.Seq2SeqTransformer"/>): digits and the start token in, digits out.</summary>
    internal static Seq2SeqTransformer Build(Generator generator) =>
        new(Vocab, Length, DModel, Heads, EncoderLayers, DecoderLayers, FeedForward, generator);

    /// <summary>The card saved with the weights.</summary>
    internal static ModelCard Card(double exactMatch) => new()
    {
        Name = "seq2seq",
        Architecture = Architectures.Seq2SeqTransformerName,
        Kind = ModelKind.SequenceToSequence,
        Hyperparameters = new JsonObject
        {
            ["vocabulary"] = Vocab, ["length"] = Length, ["d_model"] = DModel, ["heads"] = Heads,
            ["encoder_layers"] = EncoderLayers, ["decoder_layers"] = DecoderLayers, ["feed_forward"] = FeedForward, ["start_token"] = Bos,
        },
        Input = new InputSpec { Shape = [Length], DType = "int64", Minimum = 0, Maximum = Digits - 1 },
        Metrics = new() { ["exact_match"] = exactMatch },
        Description = $"Tensorium example 'seq2seq': reverses strings of {Length} digits; decoding starts with token {Bos}.",
    };

    /// <summary><paramref name="count"/> random digit strings with their reversals: source, decoder input (BOS + target[..-1]) and target, each [count, Length].</summary>
    internal static (long[] Source, long[] TargetIn, long[] Target) MakeData(int count, Random random)
    {
        var source = new long[count * Length];
        var targetIn = new long[count * Length];
        var target = new long[count * Length];
        for (int n = 0; n < count; n++)
        {
            for (int i = 0; i < Length; i++) source[n * Length + i] = random.Next(Digits);
            for (int i = 0; i < Length; i++)
            {
                target[n * Length + i] = source[n * Length + Length - 1 - i];
                targetIn[n * Length + i] = i == 0 ? Bos : target[n * Length + i - 1];
            }
        }
        return (source, targetIn, target);
    }

    public static int Run(ExampleOptions options)
    {
        int epochs = options.Epochs ?? 3, stepsPerEpoch = options.Steps ?? 150, totalSteps = epochs * stepsPerEpoch;
        using var model = Build(new Generator(1234));
        Console.WriteLine($"Reversing strings of {Length} digits with an encoder-decoder Transformer ({EncoderLayers}+{DecoderLayers} layers, d_model {DModel}, {Heads} heads): {model.ParameterCount():N0} parameters");
        using var optimizer = new Adam(model.Parameters(), learningRate: 1e-3);
        var schedule = SequenceTraining.WarmupCosine(optimizer, peak: 1e-3, floor: 5e-5, totalSteps);

        var trainRandom = new Random(1);
        var (testSource, _, testTarget) = MakeData(TestCount, new Random(2));
        using var testSourceTensor = Tensor.FromArray(testSource, TestCount, Length);
        Console.WriteLine($"before training: exact match {GreedyAccuracy(model, testSourceTensor, testTarget).Exact:F4} on {TestCount} held-out strings");
        Console.WriteLine($"training {epochs} x {stepsPerEpoch} steps of {BatchSize} freshly generated strings (seeded)");
        // The profile ends with an epoch's last step, before the greedy decoding below.
        var profile = StepProfile.For(options, "seq2seq", stepsPerEpoch);
        var clock = Stopwatch.StartNew();
        var (exact, perDigit) = (0.0, 0.0);
        int step = 0;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            double lossSum = 0;
            int lossCount = 0;
            for (int s = 0; s < stepsPerEpoch; s++)
            {
                var (source, targetIn, target) = MakeData(BatchSize, trainRandom);
                using (new TensorScope())
                {
                    var logits = model.Forward(Tensor.FromArray(source, BatchSize, Length), Tensor.FromArray(targetIn, BatchSize, Length));
                    var loss = logits.CrossEntropy(Tensor.FromArray(target, BatchSize, Length));
                    lossSum += SequenceTraining.Step(loss, model, optimizer, schedule);
                    lossCount++;
                }
                step++;
                profile?.AfterStep(step);
                if (step % 50 == 0 || step == totalSteps)
                {
                    Console.WriteLine($"step {step,5}/{totalSteps}  loss {lossSum / lossCount:F4}  lr {optimizer.LearningRate:E2}  {clock.Elapsed.TotalSeconds:F0} s");
                    lossSum = 0;
                    lossCount = 0;
                }
            }
            (exact, perDigit) = GreedyAccuracy(model, testSourceTensor, testTarget);
            Console.WriteLine($"epoch {epoch}/{epochs}: greedy decoding on {TestCount} held-out strings: exact match {exact:F4}, digits right {perDigit:F4}");
        }
        profile?.Finish();
        Console.WriteLine($"final exact-match accuracy {exact:F4} (digits right {perDigit:F4}) after {totalSteps} steps ({clock.Elapsed.TotalSeconds:F0} s)");
        ShowExamples(model);

        options.Run("seq2seq").SaveModel(Card(exact), model, "exact_match", higherIsBetter: true);
        return 0;
    }

    /// <summary>Greedy decoding: the encoder runs once, then the decoder Length times, each time appending its most likely next digit.</summary>
    static long[] GreedyDecode(Seq2SeqTransformer model, Tensor source)
    {
        int count = source.Size(0);
        var output = new long[count * Length];
        using (new EvaluationScope())
        using (Tape.NoGrad())
        using (new TensorScope())
        {
            var memory = model.Encode(source);
            var prefix = new long[count * Length];
            for (int n = 0; n < count; n++) prefix[n * Length] = Bos;
            for (int t = 0; t < Length; t++)
                using (new TensorScope())
                {
                    var input = Tensor.FromArray(prefix, count, Length).Narrow(1, 0, t + 1).Contiguous();
                    var logits = model.Decode(input, memory);
                    var next = logits.Narrow(1, t, 1).ArgMax(-1).Reshape(-1).ToArray<long>();
                    for (int n = 0; n < count; n++)
                    {
                        output[n * Length + t] = next[n];
                        if (t + 1 < Length) prefix[n * Length + t + 1] = next[n];
                    }
                }
        }
        return output;
    }

    static (double Exact, double Digits) GreedyAccuracy(Seq2SeqTransformer model, Tensor source, long[] target)
    {
        var predicted = GreedyDecode(model, source);
        int count = source.Size(0), exact = 0, digits = 0;
        for (int n = 0; n < count; n++)
        {
            int right = 0;
            for (int i = 0; i < Length; i++) if (predicted[n * Length + i] == target[n * Length + i]) right++;
            digits += right;
            if (right == Length) exact++;
        }
        return ((double)exact / count, (double)digits / (count * Length));
    }

    static void ShowExamples(Seq2SeqTransformer model)
    {
        var (source, _, _) = MakeData(4, new Random(3));
        using var sourceTensor = Tensor.FromArray(source, 4, Length);
        var predicted = GreedyDecode(model, sourceTensor);
        for (int n = 0; n < 4; n++)
        {
            string input = string.Concat(source.Skip(n * Length).Take(Length));
            string output = string.Concat(predicted.Skip(n * Length).Take(Length));
            string expected = new(input.Reverse().ToArray());
            Console.WriteLine($"  {input} -> {output}  {(output == expected ? "ok" : "expected " + expected)}");
        }
    }
}
