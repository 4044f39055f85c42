using System.Diagnostics;
using Tensorium;
using Tensorium.Data;
using Tensorium.Layers;
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

    internal sealed class Seq2SeqTransformer : Module
    {
        private readonly Embedding _srcEmb, _tgtEmb;
        private readonly LearnedPositionalEncoding _srcPos, _tgtPos;
        private readonly TransformerEncoder _encoder;
        private readonly TransformerDecoder _decoder;
        private readonly Linear _head;

        public Seq2SeqTransformer(Generator g)
        {
            _srcEmb = RegisterModule("src_emb", new Embedding(Vocab, DModel, generator: g));
            _tgtEmb = RegisterModule("tgt_emb", new Embedding(Vocab, DModel, generator: g));
            _srcPos = RegisterModule("src_pos", new LearnedPositionalEncoding(Length, DModel, generator: g));
            _tgtPos = RegisterModule("tgt_pos", new LearnedPositionalEncoding(Length, DModel, generator: g));
            _encoder = RegisterModule("encoder", new TransformerEncoder(
                _ => new TransformerEncoderLayer(DModel, Heads, FeedForward, dropout: 0, normFirst: true, generator: g), EncoderLayers, new LayerNorm(DModel)));
            _decoder = RegisterModule("decoder", new TransformerDecoder(
                _ => new TransformerDecoderLayer(DModel, Heads, FeedForward, dropout: 0, normFirst: true, generator: g), DecoderLayers, new LayerNorm(DModel)));
            _head = RegisterModule("head", new Linear(DModel, Vocab, generator: g));
        }

        public override Tensor Forward(Tensor input) =>
            throw new NotSupportedException("Seq2SeqTransformer: call Forward(source, targetIn) or Encode/Decode.");

        /// <summary>Source ids [B, Ls] to memory [B, Ls, d].</summary>
        public Tensor Encode(Tensor source)
        {
            using var emb = _srcEmb.Forward(source);
            using var x = _srcPos.Forward(emb);
            return _encoder.Forward(x);
        }

        /// <summary>Decoder input ids [B, Lt] (BOS first) and memory to logits [B, Lt, vocab]; causal over the target.</summary>
        public Tensor Decode(Tensor targetIn, Tensor memory)
        {
            using var emb = _tgtEmb.Forward(targetIn);
            using var x = _tgtPos.Forward(emb);
            using var h = _decoder.Forward(x, memory, tgtCausal: true);
            return _head.Forward(h);
        }

        public Tensor Forward(Tensor source, Tensor targetIn)
        {
            using var memory = Encode(source);
            return Decode(targetIn, memory);
        }
    }

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
        using var model = new Seq2SeqTransformer(new Generator(1234));
        Console.WriteLine($"Reversing strings of {Length} digits with an encoder-decoder Transformer ({EncoderLayers}+{DecoderLayers} layers, d_model {DModel}, {Heads} heads): {model.ParameterCount():N0} parameters");
        using var optimizer = new Adam(model.Parameters(), learningRate: 1e-3);
        var schedule = SequenceTraining.WarmupCosine(optimizer, peak: 1e-3, floor: 5e-5, totalSteps);

        var trainRandom = new Random(1);
        var (testSource, _, testTarget) = MakeData(TestCount, new Random(2));
        using var testSourceTensor = Tensor.FromArray(testSource, TestCount, Length);
        Console.WriteLine($"before training: exact match {GreedyAccuracy(model, testSourceTensor, testTarget).Exact:F4} on {TestCount} held-out strings");
        Console.WriteLine($"training {epochs} x {stepsPerEpoch} steps of {BatchSize} freshly generated strings (seeded)");
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
                if (++step % 50 == 0 || step == totalSteps)
                {
                    Console.WriteLine($"step {step,5}/{totalSteps}  loss {lossSum / lossCount:F4}  lr {optimizer.LearningRate:E2}  {clock.Elapsed.TotalSeconds:F0} s");
                    lossSum = 0;
                    lossCount = 0;
                }
            }
            (exact, perDigit) = GreedyAccuracy(model, testSourceTensor, testTarget);
            Console.WriteLine($"epoch {epoch}/{epochs}: greedy decoding on {TestCount} held-out strings: exact match {exact:F4}, digits right {perDigit:F4}");
        }
        Console.WriteLine($"final exact-match accuracy {exact:F4} (digits right {perDigit:F4}) after {totalSteps} steps ({clock.Elapsed.TotalSeconds:F0} s)");
        ShowExamples(model);

        new RunOutputs(options, "seq2seq").SaveModel(model, "exact_match", exact, higherIsBetter: true,
            new Dictionary<string, string> { ["task"] = $"reverse {Length} digits", ["bos"] = Bos.ToString() });
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
