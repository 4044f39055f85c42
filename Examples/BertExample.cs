using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tensorium;
using Tensorium.Bert;
using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Models;
using Tensorium.Optim;

/// <summary>
/// BERT on the King James Bible, the whole recipe at a small scale: a WordPiece vocabulary built
/// from the text, a small BERT encoder (2 layers, hidden 128, 4 heads) pretrained with masked
/// language modelling on pairs of consecutive verses, then fine-tuned with a fresh
/// classification head to tell which part of the Bible a verse comes from (law, history, wisdom,
/// prophets, gospels and Acts, epistles and Revelation), against the same architecture trained
/// on the classification alone with the same steps and data. <c>--checkpoint DIR</c> fine-tunes a
/// Hugging Face BERT directory (config.json, vocab.txt, model.safetensors) instead of pretraining.
/// </summary>
static class BertExample
{
    const int Hidden = 128, NumLayers = 2, Heads = 4, Intermediate = 512, VocabularySize = 4000;
    const int PretrainLength = 64, ClassifyLength = 48, BatchSize = 32;
    const int TestVerses = 2000, DefaultTrainVerses = 4000, DefaultPretrainSteps = 600, DefaultEpochs = 3;
    const int ValidationPairs = 256, EvaluationRounds = 5;
    const double PretrainLearningRate = 1e-3;

    /// <summary>The bible command's book abbreviations, in order (Genesis to Revelation).</summary>
    static readonly string[] Books =
    [
        "Ge", "Exo", "Lev", "Num", "Deu", "Josh", "Jdgs", "Ruth", "1Sm", "2Sm", "1Ki", "2Ki", "1Chr", "2Chr", "Ezra", "Neh", "Est",
        "Job", "Psa", "Prv", "Eccl", "SSol", "Isa", "Jer", "Lam", "Eze", "Dan", "Hos", "Joel", "Amos", "Obad", "Jonah", "Mic", "Nahum",
        "Hab", "Zep", "Hag", "Zec", "Mal", "Mat", "Mark", "Luke", "John", "Acts", "Rom", "1Cor", "2Cor", "Gal", "Eph", "Phi", "Col",
        "1Th", "2Th", "1Tim", "2Tim", "Titus", "Phmn", "Heb", "Jas", "1Pet", "2Pet", "1Jn", "2Jn", "3Jn", "Jude", "Rev",
    ];

    /// <summary>The classes: each group of books and the index of the first book after it.</summary>
    static readonly (string Name, int End)[] Groups =
        [("law", 5), ("history", 17), ("wisdom", 22), ("prophets", 39), ("gospels and acts", 44), ("epistles and revelation", 66)];

    internal sealed record Verse(string Book, int Group, string Text);

    public static int Run(ExampleOptions options)
    {
        var verses = LoadVerses();
        if (verses == null) return 2;
        var phases = new List<(string Phase, double Seconds)>();
        var clock = Stopwatch.StartNew();

        // One shuffle decides everything: the first verses are the test set, the next ones the
        // labelled training set; pretraining reads every verse but the test ones.
        var order = Enumerable.Range(0, verses.Count).ToArray();
        new Random(17).Shuffle(order);
        // A --limit run (a quick try, a test) tests on as many verses as it trains on, 100 to 2000.
        int testCount = options.MaxExamples is int limit ? Math.Clamp(limit, 100, TestVerses) : TestVerses;
        int trainCount = Math.Min(options.MaxExamples ?? DefaultTrainVerses, verses.Count - testCount);
        var test = order.Take(testCount).Select(i => verses[i]).ToList();
        var train = order.Skip(testCount).Take(trainCount).Select(i => verses[i]).ToList();
        var testSet = order.Take(testCount).ToHashSet();
        var unlabelled = Enumerable.Range(0, verses.Count).Where(i => !testSet.Contains(i)).Select(i => verses[i].Text)
            .Take(options.MaxExamples is int n ? 10 * n : int.MaxValue).ToList();     // a --limit run pretrains on less text too
        Console.WriteLine($"{verses.Count:N0} verses in {Books.Length} books, {Groups.Length} classes: {string.Join(", ", Groups.Select(g => g.Name))}");
        Console.WriteLine($"classification: {train.Count:N0} training verses, {test.Count:N0} test verses; pretraining text: the {unlabelled.Count:N0} verses outside the test set");

        BertConfig config;
        WordPieceTokenizer tokenizer;
        string pretrained;
        if (options.CheckpointDirectory is string directory)
        {
            (config, tokenizer, pretrained) = LoadCheckpoint(directory);
            phases.Add(("loading the checkpoint", Lap(clock)));
        }
        else
        {
            tokenizer = new WordPieceTokenizer(WordPieceVocabulary.Build(unlabelled, VocabularySize));
            phases.Add(("building the vocabulary", Lap(clock)));
            Console.WriteLine($"WordPiece vocabulary of {tokenizer.VocabSize} tokens built from the pretraining text (characters, frequent words and word pieces)");
            config = new BertConfig
            {
                VocabSize = tokenizer.VocabSize, HiddenSize = Hidden, NumHiddenLayers = NumLayers, NumAttentionHeads = Heads,
                IntermediateSize = Intermediate, MaxPositionEmbeddings = 128, PadTokenId = tokenizer.PadId,
            };
            pretrained = Pretrain(options, config, tokenizer, unlabelled);
            phases.Add(("pretraining (masked LM)", Lap(clock)));
        }

        int maxLength = Math.Min(ClassifyLength, config.MaxPositionEmbeddings);
        using var trainData = Labelled(train, tokenizer, maxLength);
        using var testData = Labelled(test, tokenizer, maxLength);
        int epochs = options.Epochs ?? DefaultEpochs;
        // Published BERTs (hidden 768 and up) fine-tune at the learning rates of the BERT paper;
        // the small model here, pretrained or not, takes a larger one.
        double learningRate = config.HiddenSize >= 512 ? 5e-5 : 5e-4;
        double majority = test.GroupBy(v => v.Group).Max(g => g.Count()) / (double)test.Count;

        Console.WriteLine($"\nFine-tuning the pretrained encoder with a fresh classifier: {epochs} epochs of {train.Count:N0} verses, AdamW at {learningRate:G2}");
        var (fineTuned, fineHistory, confusion, fineModel) = Classify(config, pretrained, trainData, testData, epochs, learningRate);
        phases.Add(("fine-tuning", Lap(clock)));
        Console.WriteLine($"\nThe same architecture from scratch, on the classification alone (same data, steps and optimizer)");
        var (scratch, scratchHistory, _, scratchModel) = Classify(config, null, trainData, testData, epochs, learningRate);
        scratchModel.Dispose();
        phases.Add(("training from scratch", Lap(clock)));

        Console.WriteLine($"\nConfusion matrix of the fine-tuned model on the {confusion.Total} test verses (rows: actual, columns: predicted):\n{confusion}");
        var card = Card(config, tokenizer, maxLength, fineTuned, scratch);
        using (fineModel)
        {
            var run = options.SaveOutputs(card, fineModel, fineHistory, confusion);
            tokenizer.Save(run.InRun(BertCheckpoint.VocabularyFile));
            config.Save(run.InRun(BertCheckpoint.ConfigFile));
            scratchHistory.WriteCsv(run.InRun("bert-scratch-history.csv"));
            scratchHistory.WriteSvg(run.InRun("bert-scratch-history.svg"), "bert: the same classifier trained from scratch");
            Console.WriteLine($"the classifier's vocab.txt and config.json are in {run.Folder} too");
        }
        phases.Add(("saving", Lap(clock)));

        Console.WriteLine($"\nTest accuracy on {test.Count:N0} verses ({Groups.Length} classes; always guessing the largest class: {majority:P1}):");
        Console.WriteLine($"  fine-tuned from {(options.CheckpointDirectory != null ? "the checkpoint" : "masked-LM pretraining")}: {fineTuned:P1}");
        Console.WriteLine($"  trained from scratch:      {scratch:P1}");
        Console.WriteLine("Time per phase:");
        foreach (var (phase, seconds) in phases) Console.WriteLine($"  {phase,-26} {seconds,7:F1} s");
        Console.WriteLine($"  {"total",-26} {phases.Sum(p => p.Seconds),7:F1} s");
        return 0;
    }

    static double Lap(Stopwatch clock)
    {
        double seconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        return seconds;
    }

    /// <summary>Every verse with its book and class, from the <c>bible</c> command ("Ge1:1 In the beginning ..."); null when it cannot run.</summary>
    internal static List<Verse>? LoadVerses() => KingJamesBible.Read("bert") is string bible ? ParseVerses(bible) : null;

    /// <summary>The verses of the bible command's output, one a line: "BOOK CHAPTER:VERSE text", BOOK one of <see cref="Books"/>.</summary>
    internal static List<Verse> ParseVerses(string output)
    {
        var index = Books.Select((b, i) => (b, i)).ToDictionary(p => p.b, p => p.i);
        var verses = new List<Verse>();
        foreach (var line in output.Split('\n'))
        {
            if (line.Length == 0) continue;
            var match = Regex.Match(line, @"^(\d?[A-Za-z]+)\d+:\d+ (.*)$");
            if (!match.Success || !index.TryGetValue(match.Groups[1].Value, out int book))
                throw new InvalidDataException($"bert: expected 'BOOK CHAPTER:VERSE text' with BOOK one of {string.Join(" ", Books)}, got \"{line}\"");
            int group = Array.FindIndex(Groups, g => book < g.End);
            verses.Add(new Verse(Books[book], group, match.Groups[2].Value.Trim()));
        }
        return verses;
    }

    /// <summary>A Hugging Face BERT directory's config, tokenizer and weights path (do_lower_case from tokenizer_config.json when there, else true).</summary>
    internal static (BertConfig Config, WordPieceTokenizer Tokenizer, string Weights) LoadCheckpoint(string directory)
    {
        string Need(string file) => File.Exists(Path.Combine(directory, file)) ? Path.Combine(directory, file)
            : throw new FileNotFoundException($"bert: --checkpoint {directory} has no {file} (expected config.json, vocab.txt and model.safetensors)");
        var config = BertConfig.Load(Need(BertCheckpoint.ConfigFile));
        bool lowerCase = true;
        string tokenizerConfig = Path.Combine(directory, "tokenizer_config.json");
        if (File.Exists(tokenizerConfig) && JsonNode.Parse(File.ReadAllText(tokenizerConfig))?["do_lower_case"] is JsonNode lower) lowerCase = lower.GetValue<bool>();
        var tokenizer = WordPieceTokenizer.Load(Need(BertCheckpoint.VocabularyFile), lowerCase);
        if (tokenizer.VocabSize != config.VocabSize)
            throw new InvalidDataException($"bert: --checkpoint {directory}: vocab.txt has {tokenizer.VocabSize} tokens, config.json says vocab_size {config.VocabSize}");
        string weights = Need(BertCheckpoint.WeightsFile);
        // The checkpoint must describe itself: loading it strictly as a masked-LM or plain encoder checks every name and shape now.
        using (var probe = new BertModel(config, addPoolingLayer: false))
            BertCheckpoint.LoadInto(weights, probe, strict: true);
        Console.WriteLine($"loaded --checkpoint {directory}: {config.NumHiddenLayers} layers, hidden {config.HiddenSize}, {config.NumAttentionHeads} heads, vocabulary {config.VocabSize}{(lowerCase ? " (uncased)" : "")}");
        return (config, tokenizer, weights);
    }

    /// <summary>Masked-LM pretraining on pairs of consecutive verses; saves the model and returns its weights' path.</summary>
    static string Pretrain(ExampleOptions options, BertConfig config, WordPieceTokenizer tokenizer, List<string> texts)
    {
        int steps = options.Steps ?? DefaultPretrainSteps, every = Math.Max(1, steps / EvaluationRounds);
        // Each verse is tokenized when a batch first draws it (a short run reads few of them).
        var ids = new long[]?[texts.Count];
        long[] Ids(int i) => ids[i] ??= tokenizer.TokenIds(texts[i]);
        // Pair i is verses i and i+1 (segments 0 and 1); a few evenly spread pairs are held out for validation.
        int pairs = texts.Count - 1, stride = Math.Max(2, pairs / ValidationPairs);
        var validation = Enumerable.Range(0, pairs).Where(i => i % stride == 0).ToArray();
        var training = Enumerable.Range(0, pairs).Where(i => i % stride != 0).ToArray();
        BertEncoding Pair(int i) => tokenizer.Encode(Ids(i), Ids(i + 1), PretrainLength);

        using var model = new BertForMaskedLM(config, new Generator(1234));
        Console.WriteLine($"\nPretraining a BERT ({config.NumHiddenLayers} layers, hidden {config.HiddenSize}, {config.NumAttentionHeads} heads, " +
            $"{model.ParameterCount():N0} parameters) with masked LM: {steps} steps of {BatchSize} verse pairs (at most {PretrainLength} tokens), " +
            $"15% of tokens to predict; validation on {validation.Length} held-out pairs");
        using var optimizer = new AdamW(model.Parameters(), learningRate: PretrainLearningRate, beta2: 0.98, weightDecay: 0.01);
        var schedule = SequenceTraining.WarmupCosine(optimizer, peak: PretrainLearningRate, floor: PretrainLearningRate / 10, steps);
        var validationBatches = validation.Chunk(BatchSize).Select(chunk => MaskedBatch(chunk.Select(Pair).ToList(), tokenizer, new Generator(99))).ToList();
        var draws = new Generator(7);
        var random = new Random(7);
        var history = new History();
        var clock = Stopwatch.StartNew();
        double lossSum = 0;
        int lossCount = 0;
        for (int step = 1; step <= steps; step++)
        {
            var batch = Enumerable.Range(0, BatchSize).Select(_ => Pair(training[random.Next(training.Length)])).ToList();
            var masked = MaskedBatch(batch, tokenizer, draws);
            using (masked)
            using (new TensorScope())
            {
                var logits = model.ForwardAt(masked.Inputs, masked.Batch.TokenTypeIds, masked.Batch.AttentionMask, masked.Positions);
                lossSum += SequenceTraining.Step(logits.CrossEntropy(masked.Labels), model, optimizer, schedule);
                lossCount++;
            }
            if (step % every == 0 || step == steps)
            {
                var (loss, accuracy) = Evaluate(model, validationBatches);
                double seconds = clock.Elapsed.TotalSeconds;
                history.Add(new Dictionary<string, double> { ["loss"] = lossSum / lossCount, ["val_loss"] = loss, ["val_accuracy"] = accuracy, ["seconds"] = seconds });
                Console.WriteLine($"step {step,5}/{steps}  train loss {lossSum / lossCount:F3}  validation loss {loss:F3}  masked-token accuracy {accuracy:P1}  " +
                    $"lr {optimizer.LearningRate:E2}  {seconds:F0} s");
                lossSum = 0;
                lossCount = 0;
            }
        }
        foreach (var batch in validationBatches) batch.Dispose();
        double finalLoss = history.Epochs[^1]["val_loss"], finalAccuracy = history.Epochs[^1]["val_accuracy"];

        // The card and weights like every example, and beside them the same model as a Hugging
        // Face directory, which --checkpoint (and transformers' BertForMaskedLM) loads.
        var run = new RunOutputs(options, "bert-mlm");
        history.WriteCsv(run.InRun("bert-mlm-history.csv"));
        history.WriteSvg(run.InRun("bert-mlm-history.svg"), "bert-mlm: masked-LM loss and masked-token accuracy");
        var card = new ModelCard
        {
            Name = "bert-mlm",
            Architecture = "bert-for-masked-lm",
            Kind = ModelKind.Regression,
            Hyperparameters = Hyperparameters(config, PretrainLength),
            Input = new InputSpec { Shape = [PretrainLength], DType = "int64", Minimum = 0, Maximum = config.VocabSize - 1 },
            Metrics = new() { ["validation_mlm_loss"] = finalLoss, ["validation_masked_accuracy"] = finalAccuracy },
            Description = "Tensorium example 'bert': a small BERT pretrained with masked LM on the King James Bible. Its WordPiece vocabulary is vocab.txt in the run folder's huggingface directory.",
        };
        run.SaveModel(card, model, "validation_mlm_loss", higherIsBetter: false);
        string huggingFace = run.InRun("huggingface");
        BertCheckpoint.Save(huggingFace, model, config);
        tokenizer.Save(Path.Combine(huggingFace, BertCheckpoint.VocabularyFile));
        Console.WriteLine($"saved the pretrained model as a Hugging Face directory in {huggingFace} (fine-tune it again with --checkpoint {huggingFace})");
        return Path.Combine(huggingFace, BertCheckpoint.WeightsFile);
    }

    /// <summary>A padded batch with its masked inputs, the masked positions (flat) and their labels.</summary>
    sealed record MaskedPairs(BertBatch Batch, Tensor Inputs, Tensor Positions, Tensor Labels) : IDisposable
    {
        public void Dispose()
        {
            Batch.Dispose();
            Inputs.Dispose();
            Positions.Dispose();
            Labels.Dispose();
        }
    }

    static MaskedPairs MaskedBatch(List<BertEncoding> encodings, WordPieceTokenizer tokenizer, Generator generator)
    {
        var batch = BertBatch.From(encodings, tokenizer.PadId, out var flat);
        var masked = MaskedLanguageModeling.Mask(flat, tokenizer, generator);
        var positions = Enumerable.Range(0, flat.Length).Where(i => masked.Labels[i] != MaskedLanguageModeling.IgnoreIndex).ToArray();
        if (positions.Length == 0) positions = [1];   // (never at 15% of a batch) one position, so the loss is defined
        var labels = positions.Select(i => masked.Labels[i] == MaskedLanguageModeling.IgnoreIndex ? flat[i] : masked.Labels[i]).ToArray();
        return new MaskedPairs(batch, Tensor.FromArray(masked.InputIds, batch.InputIds.Shape),
            Tensor.FromArray(positions.Select(p => (long)p).ToArray(), positions.Length), Tensor.FromArray(labels, labels.Length));
    }

    /// <summary>Mean masked-LM loss and the share of masked tokens predicted exactly, over <paramref name="batches"/>.</summary>
    static (double Loss, double Accuracy) Evaluate(BertForMaskedLM model, List<MaskedPairs> batches)
    {
        double loss = 0;
        long correct = 0, total = 0;
        using (new EvaluationScope())
        using (Tape.NoGrad())
            foreach (var b in batches)
                using (new TensorScope())
                {
                    var logits = model.ForwardAt(b.Inputs, b.Batch.TokenTypeIds, b.Batch.AttentionMask, b.Positions);
                    loss += logits.CrossEntropy(b.Labels).Item() * b.Labels.Count;
                    var predicted = logits.ArgMax(-1).ToArray<long>();
                    var labels = b.Labels.ToArray<long>();
                    correct += predicted.Zip(labels).Count(p => p.First == p.Second);
                    total += labels.Length;
                }
        return (loss / total, (double)correct / total);
    }

    /// <summary>Verses as [N, length] ids ([CLS] verse [SEP], padded) with their classes.</summary>
    static TensorDataset Labelled(List<Verse> verses, WordPieceTokenizer tokenizer, int length)
    {
        var ids = verses.SelectMany(v => tokenizer.Encode(v.Text, maxLength: length, padToMaxLength: true).InputIds).ToArray();
        return new TensorDataset(Tensor.FromArray(ids, verses.Count, length), Tensor.FromArray(verses.Select(v => (long)v.Group).ToArray(), verses.Count));
    }

    /// <summary>
    /// Trains a <see cref="BertForSequenceClassification"/> (the encoder from
    /// <paramref name="pretrained"/> when given, a fresh pooler and classifier either way) and
    /// returns its test accuracy, history, confusion matrix and the model (the caller's).
    /// </summary>
    static (double Accuracy, History History, ConfusionMatrix Confusion, BertForSequenceClassification Model) Classify(
        BertConfig config, string? pretrained, TensorDataset train, TensorDataset test, int epochs, double learningRate)
    {
        var model = new BertForSequenceClassification(config, Groups.Length, new Generator(42));
        if (pretrained != null)
        {
            // The encoder only (and the pooler when the checkpoint has one): the classifier is new
            // whatever heads the checkpoint carries.
            var report = BertCheckpoint.LoadInto(pretrained, model.Bert, strict: false);
            Console.WriteLine($"loaded the encoder from {pretrained}; fresh: classifier{(report.Initialized.Count > 0 ? ", " + string.Join(", ", report.Initialized) : "")}" +
                (report.Skipped.Count > 0 ? $"; not used: {string.Join(", ", report.Skipped)}" : ""));
        }
        using var optimizer = new AdamW(model.Parameters(), learningRate: learningRate, weightDecay: 0.01);
        int steps = epochs * (int)Math.Ceiling(train.Count / (double)BatchSize);
        var schedule = SequenceTraining.WarmupCosine(optimizer, peak: learningRate, floor: learningRate / 10, steps);
        var confusion = new ConfusionMatrix(Groups.Length, Groups.Select(g => g.Name).ToList());
        var trainer = new Trainer(model, optimizer, new CrossEntropyLoss(), [new Accuracy(), confusion]) { OnStep = _ => schedule.Step() };
        var history = trainer.Fit(train, epochs, BatchSize, validation: test, generator: new Generator(5));
        var result = trainer.Evaluate(test, BatchSize);
        Console.WriteLine($"test accuracy {result["accuracy"]:P1}  test loss {result["loss"]:F4}");
        return (result["accuracy"], history, confusion, model);
    }

    static JsonObject Hyperparameters(BertConfig config, int maxLength) => new()
    {
        ["vocab_size"] = config.VocabSize, ["hidden_size"] = config.HiddenSize, ["num_hidden_layers"] = config.NumHiddenLayers,
        ["num_attention_heads"] = config.NumAttentionHeads, ["intermediate_size"] = config.IntermediateSize,
        ["max_position_embeddings"] = config.MaxPositionEmbeddings, ["type_vocab_size"] = config.TypeVocabSize, ["max_length"] = maxLength,
    };

    static ModelCard Card(BertConfig config, WordPieceTokenizer tokenizer, int maxLength, double accuracy, double scratch) => new()
    {
        Name = "bert",
        Architecture = "bert-for-sequence-classification",
        Kind = ModelKind.Classifier,
        Hyperparameters = Hyperparameters(config, maxLength),
        Input = new InputSpec { Shape = [maxLength], DType = "int64", Minimum = 0, Maximum = tokenizer.VocabSize - 1 },
        Labels = [.. Groups.Select(g => g.Name)],
        Metrics = new() { ["test_accuracy"] = accuracy, ["scratch_test_accuracy"] = scratch },
        Description = "Tensorium example 'bert': a BERT fine-tuned to tell which part of the King James Bible a verse comes from. " +
            "Input: WordPiece ids ([CLS] verse [SEP], [PAD] after) from vocab.txt in the run folder.",
    };
}
