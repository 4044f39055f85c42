using Tensorium.Bert;
using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Tests.Data;
using Tensorium.Tests.Layers;

namespace Tensorium.Tests.Bert;

/// <summary>
/// The BERT encoder and heads against the fixture PyTorch computed after Hugging Face's formulas
/// (padding, attention masks and segments included), and the checkpoint loader's rules: both
/// layouts, strict loading, and errors that name the tensors.
/// </summary>
public class BertModelTests
{
    private DataTempFolder _folder = null!;

    [SetUp] public void MakeFolder() => _folder = new DataTempFolder();
    [TearDown] public void RemoveFolder() => _folder.Dispose();

    /// <summary>Runs <paramref name="forward"/> on the fixture's inputs in inference mode.</summary>
    private static double[] Run(Func<Tensor, Tensor, Tensor, Tensor> forward, Dictionary<string, Tensor> expected)
    {
        using (new EvaluationScope())
        using (Tape.NoGrad())
        using (var output = forward(expected["input_ids"], expected["token_type_ids"], expected["attention_mask"]))
            return output.ToDoubleArray();
    }

    private static void Dispose(Dictionary<string, Tensor> tensors)
    {
        foreach (var t in tensors.Values) t.Dispose();
    }

    [Test]
    public void MaskedLmReproducesPyTorchLogits()
    {
        using var model = new BertForMaskedLM(BertFixture.Config);
        var report = BertCheckpoint.LoadInto(BertFixture.Weights, model, strict: true);
        Assert.That(report.Initialized, Is.Empty);
        Assert.That(report.Skipped, Is.EquivalentTo(new[] { "bert.pooler.dense.weight", "bert.pooler.dense.bias", "cls.seq_relationship.weight",
            "cls.seq_relationship.bias", "classifier.weight", "classifier.bias" }));
        var expected = BertFixture.Expected();
        try
        {
            var logits = Run(model.Forward, expected);
            Reference.AssertClose(logits, expected["mlm_logits"].ToDoubleArray(), 2e-5, 1e-4, "MLM logits");
        }
        finally { Dispose(expected); }
    }

    [Test]
    public void LogitsAtChosenPositionsAndThePaddingMaskOfTheSingleInputForm()
    {
        using var model = new BertForMaskedLM(BertFixture.Config);
        BertCheckpoint.LoadInto(BertFixture.Weights, model);
        var expected = BertFixture.Expected();
        try
        {
            int[] positions = [1, 5, 12, 14];    // flat indices into [2 x 12]
            using var index = Tensor.FromArray(positions.Select(p => (long)p).ToArray(), positions.Length);
            var picked = Run((ids, types, mask) => model.ForwardAt(ids, types, mask, index), expected);
            var all = expected["mlm_logits"].ToDoubleArray();
            var rows = positions.SelectMany(p => all.Skip(p * 40).Take(40)).ToArray();
            Reference.AssertClose(picked, rows, 2e-5, 1e-4, "logits at positions");
            // The second sequence is padded with [PAD] = 0 and in segment 0 only: the single-input
            // form masks [PAD] by itself and matches PyTorch's logits with the explicit mask.
            using var second = expected["input_ids"].Narrow(0, 1, 1);
            using var logits = model.Predict(second);
            Reference.AssertClose(logits.ToDoubleArray(), all.Skip(12 * 40).ToArray(), 2e-5, 1e-4, "single-input form");
        }
        finally { Dispose(expected); }
    }

    [Test]
    public void SequenceClassificationReproducesPyTorchLogits()
    {
        using var model = new BertForSequenceClassification(BertFixture.Config, numLabels: 3);
        var report = BertCheckpoint.LoadInto(BertFixture.Weights, model, strict: true);
        Assert.That(report.Initialized, Is.Empty);
        var expected = BertFixture.Expected();
        try
        {
            var logits = Run(model.Forward, expected);
            Reference.AssertClose(logits, expected["classification_logits"].ToDoubleArray(), 2e-5, 1e-4, "classification logits");
        }
        finally { Dispose(expected); }
    }

    [Test]
    public void UnprefixedBertModelLayoutLoadsAndMatches()
    {
        // Hugging Face's BertModel saves its tensors without "bert." and has no heads.
        var all = SafeTensors.Load(BertFixture.Weights);
        var expected = BertFixture.Expected();
        try
        {
            var bare = all.Where(kv => kv.Key.StartsWith("bert.")).ToDictionary(kv => kv.Key["bert.".Length..], kv => kv.Value);
            string path = _folder.File("bert-model.safetensors");
            SafeTensors.Save(path, bare);
            using var model = new BertModel(BertFixture.Config);
            var report = BertCheckpoint.LoadInto(path, model, strict: true);
            Assert.That(report.Initialized, Is.Empty);
            Assert.That(report.Skipped, Is.Empty);
            var hidden = Run(model.Forward, expected);
            Reference.AssertClose(hidden, expected["last_hidden_state"].ToDoubleArray(), 2e-5, 1e-4, "last hidden state");
            var pooled = Run((ids, types, mask) =>
            {
                using var h = model.Forward(ids, types, mask);
                return model.Pool(h);
            }, expected);
            Reference.AssertClose(pooled, expected["pooler_output"].ToDoubleArray(), 2e-5, 1e-4, "pooled output");
        }
        finally
        {
            Dispose(all);
            Dispose(expected);
        }
    }

    [Test]
    public void MissingAndUnknownTensorsAreErrorsNamingThemAndLoadNothing()
    {
        var all = SafeTensors.Load(BertFixture.Weights);
        try
        {
            var edited = new Dictionary<string, Tensor>(all);
            edited.Remove("bert.encoder.layer.1.output.dense.weight");
            edited["bert.encoder.layer.2.output.dense.weight"] = all["bert.encoder.layer.1.output.dense.weight"];
            string path = _folder.File("edited.safetensors");
            SafeTensors.Save(path, edited);
            using var model = new BertForMaskedLM(BertFixture.Config, new Generator(3));
            var before = model.Bert.Embeddings.WordWeight.ToDoubleArray();
            var e = Assert.Throws<InvalidDataException>(() => BertCheckpoint.LoadInto(path, model));
            Assert.That(e!.Message, Does.Contain("missing [bert.encoder.layer.1.output.dense.weight]"));
            Assert.That(e.Message, Does.Contain("unexpected [bert.encoder.layer.2.output.dense.weight]"));
            Assert.That(model.Bert.Embeddings.WordWeight.ToDoubleArray(), Is.EqualTo(before), "nothing loaded");
        }
        finally { Dispose(all); }
    }

    [Test]
    public void AMissingHeadIsAnErrorWhenStrictAndFreshOtherwise()
    {
        var all = SafeTensors.Load(BertFixture.Weights);
        try
        {
            // A masked-LM checkpoint (Hugging Face's BertForMaskedLM: no pooler, no classifier).
            var mlm = all.Where(kv => !kv.Key.StartsWith("classifier.") && !kv.Key.StartsWith("bert.pooler.") && !kv.Key.StartsWith("cls.seq"))
                .ToDictionary(kv => kv.Key, kv => kv.Value);
            string path = _folder.File("mlm.safetensors");
            SafeTensors.Save(path, mlm);
            using var model = new BertForSequenceClassification(BertFixture.Config, numLabels: 5);
            var e = Assert.Throws<InvalidDataException>(() => BertCheckpoint.LoadInto(path, model, strict: true));
            Assert.That(e!.Message, Does.Contain("missing [bert.pooler.dense.weight, bert.pooler.dense.bias, classifier.weight, classifier.bias]"));
            var report = BertCheckpoint.LoadInto(path, model, strict: false);
            Assert.That(report.Initialized, Is.EqualTo(new[] { "bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias" }));
            Assert.That(model.Bert.Embeddings.WordWeight.ToDoubleArray(), Is.EqualTo(all["bert.embeddings.word_embeddings.weight"].ToDoubleArray()));
        }
        finally { Dispose(all); }
    }

    [Test]
    public void AConfigThatDoesNotDescribeTheWeightsIsRefused()
    {
        var config = BertFixture.Config with { NumHiddenLayers = 1 };
        using var model = new BertModel(config);
        var e = Assert.Throws<InvalidDataException>(() => BertCheckpoint.LoadInto(BertFixture.Weights, model));
        Assert.That(e!.Message, Does.Contain("unexpected [bert.encoder.layer.1.attention.self.query.weight"));
        var wider = BertFixture.Config with { IntermediateSize = 48 };
        using var other = new BertModel(wider);
        var shape = Assert.Throws<InvalidDataException>(() => BertCheckpoint.LoadInto(BertFixture.Weights, other));
        Assert.That(shape!.Message, Does.Contain("encoder.layer.0.intermediate.dense.weight"));
    }

    [Test]
    public void SavedModelLoadsBackInHuggingFaceLayout()
    {
        using var model = new BertForMaskedLM(BertFixture.Config, new Generator(5));
        BertCheckpoint.Save(_folder.Path, model, model.Config);
        var names = SafeTensors.Load(_folder.File(BertCheckpoint.WeightsFile));
        Assert.That(names.Keys, Does.Contain("bert.encoder.layer.0.attention.self.query.weight").And.Contain("cls.predictions.bias")
            .And.Contain("bert.embeddings.LayerNorm.weight").And.Not.Contain("cls.predictions.decoder.weight"));
        Dispose(names);
        var config = BertConfig.Load(_folder.File(BertCheckpoint.ConfigFile));
        Assert.That(config, Is.EqualTo(model.Config));
        using var copy = new BertForMaskedLM(config, new Generator(6));
        BertCheckpoint.LoadInto(_folder.File(BertCheckpoint.WeightsFile), copy);
        using var ids = Tensor.FromArray(new long[] { 2, 5, 9, 10, 3 }, 1, 5);
        using var a = model.Predict(ids);
        using var b = copy.Predict(ids);
        Assert.That(b.ToDoubleArray(), Is.EqualTo(a.ToDoubleArray()));
    }

    [Test]
    public void GradientsOfEveryParameterMatchFiniteDifferencesInFloat64()
    {
        // Tiny, without dropout, with padding, segments and the tied decoder: every parameter's
        // gradient (the word embedding's from both ends) against central differences.
        var config = new BertConfig
        {
            VocabSize = 8, HiddenSize = 4, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 6, MaxPositionEmbeddings = 5,
            HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0,
        };
        using var model = new BertForMaskedLM(config, new Generator(9));
        model.To(DType.Float64);
        foreach (var (_, p) in model.NamedParameters())   // larger than BERT's 0.02, so every path matters
            using (Tape.NoGrad())
            using (var values = Tensor.Normal(p.Shape, 0, 0.5, new Generator((ulong)p.Count + 3), DType.Float64))
                p.CopyFrom(values);
        using var ids = Tensor.FromArray(new long[] { 2, 5, 3, 7, 3, 2, 6, 3, 0, 0 }, 2, 5);
        using var types = Tensor.FromArray(new long[] { 0, 0, 0, 1, 1, 0, 0, 0, 0, 0 }, 2, 5);
        using var mask = Tensor.FromArray(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }, 2, 5);
        ModuleGradCheck.AssertGradients(model, _ => model.Forward(ids, types, mask), []);
    }

    [Test]
    public void ConfigRejectsWhatCannotBuildAModel()
    {
        Assert.That(BertFixture.Config.HiddenSize, Is.EqualTo(16));
        Assert.That(BertFixture.Config.LayerNormEps, Is.EqualTo(1e-12));
        var e = Assert.Throws<ArgumentException>(() => (BertFixture.Config with { NumAttentionHeads = 3 }).Validate());
        Assert.That(e!.Message, Does.Contain("hidden_size 16 must be a multiple of num_attention_heads 3"));
        e = Assert.Throws<ArgumentException>(() => (BertFixture.Config with { HiddenAct = "gelu_new" }).Validate());
        Assert.That(e!.Message, Does.Contain("hidden_act \"gelu_new\""));
    }

    [Test]
    public void TrainingStepReducesTheMaskedLmLossAndTheDecoderIsTied()
    {
        // One tensor serves as word embedding and decoder: gradients from both ends reach it.
        using var model = new BertForMaskedLM(BertFixture.Config with { HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0 }, new Generator(7));
        Assert.That(model.NamedParameters().Count(p => ReferenceEquals(p.Parameter, model.Bert.Embeddings.WordWeight)), Is.EqualTo(1));
        using var ids = Tensor.FromArray(new long[] { 2, 4, 6, 7, 3, 2, 8, 4, 3, 0 }, 2, 5);
        using var labels = Tensor.FromArray(new long[] { -100, 5, -100, -100, -100, -100, -100, 9, -100, -100 }, 2, 5);
        using var mask = Tensor.FromArray(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 }, 2, 5);
        using var optimizer = new Tensorium.Optim.AdamW(model.Parameters(), learningRate: 1e-2);
        double Loss()
        {
            using var scope = new TensorScope();
            var logits = model.Forward(ids, null, mask);
            var loss = logits.Reshape(-1, 40).CrossEntropy(labels.Reshape(-1));
            loss.Backward();
            return loss.Item();
        }
        double first = Loss();
        Assert.That(model.Bert.Embeddings.WordWeight.Grad, Is.Not.Null);
        for (int i = 0; i < 5; i++)
        {
            optimizer.Step();
            optimizer.ZeroGrad();
            Loss();
        }
        Assert.That(Loss(), Is.LessThan(first * 0.8));
    }

    [Test]
    public void ALayerThatThrowsLeavesNoBuffersBehind()
    {
        using var model = new BertModel(BertFixture.Config, addPoolingLayer: false, generator: new Generator(5));
        // A disposed weight in the last layer makes it throw on its first op, after the layers before it ran.
        string name = $"encoder.layer.{BertFixture.Config.NumHiddenLayers - 1}.attention.self.query.weight";
        model.NamedParameters().Single(p => p.Name == name).Parameter.Dispose();
        using var ids = Tensor.FromArray(new long[] { 2, 5, 6, 3 }, 1, 4);
        long before = Reference.SettledLiveBuffers();
        using (new EvaluationScope())
        using (Tape.NoGrad())
            Assert.Catch<ObjectDisposedException>(() => model.Forward(ids, null, null));
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before), "the hidden state the failing layer was given is freed");
    }
}
