using System.Text.Json.Nodes;
using Tensorium.Data;
using Tensorium.Models;
using Tensorium.Tests.Data;

namespace Tensorium.Tests.Serving;

/// <summary>Model cards and the registry rebuild saved models outside any server (issue 14).</summary>
public class ModelCardTests
{
    [Test]
    public void TheLibraryStaysFreeOfTheWebStack()
    {
        // The card API lives in Layers so programs without a server use it; ASP.NET stays in Serving.
        var references = typeof(ModelCard).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.That(references, Has.None.StartsWith("Microsoft.AspNetCore").And.None.StartsWith("Prometheus"));
        Assert.That(typeof(ModelCard).Assembly.GetName().Name, Is.EqualTo("Tensorium.Layers"));
    }

    [Test]
    public void ACardRoundTripsThroughJson()
    {
        var card = TinyModels.ClassifierCard();
        var back = ModelCard.FromJson(card.ToJson());
        Assert.That(back.Name, Is.EqualTo("tiny"));
        Assert.That(back.Architecture, Is.EqualTo(Architectures.MlpName));
        Assert.That(back.Input.Shape, Is.EqualTo(new[] { 1, 4, 4 }));
        Assert.That(back.Input.Maximum, Is.EqualTo(1));
        Assert.That(back.Labels, Is.EqualTo(TinyModels.Labels));
        Assert.That(back.Int("hidden"), Is.EqualTo(8));
        Assert.That(back.Metrics["test_accuracy"], Is.EqualTo(0.5));
    }

    [Test]
    public void ASavedModelLoadsBackAndGivesTheSameOutputs()
    {
        using var folder = new DataTempFolder();
        using var original = TinyModels.Classifier(seed: 7);
        string cardPath = ModelFiles.Save(folder.Path, TinyModels.ClassifierCard(), original);
        Assert.That(File.Exists(ModelFiles.WeightsPath(folder.Path, "tiny")), Is.True);

        using var loaded = ModelFiles.Load(cardPath);
        using var x = Tensor.FromArray([.. TinyModels.Image(1), .. TinyModels.Image(2)], 2, 1, 4, 4);
        using var expected = original.Forward(x);
        using var actual = loaded.Forward(x);
        Assert.That(actual.ToArray<float>(), Is.EqualTo(expected.ToArray<float>()));
        Assert.That(loaded.Module.Training, Is.True, "loading must not flip the module's shared training flag");
        var (_, probabilities, classes) = loaded.Classify(x);
        Assert.That(classes, Is.EqualTo(3));
        Assert.That(probabilities.Take(3).Sum(), Is.EqualTo(1).Within(1e-5));
    }

    [Test]
    public void AnUnknownArchitectureNamesTheRegisteredOnes()
    {
        using var folder = new DataTempFolder();
        TinyModels.SaveClassifier(folder.Path);
        var card = ModelCard.Load(ModelFiles.CardPath(folder.Path, "tiny")) with { Architecture = "resnet-9000" };
        card.Save(ModelFiles.CardPath(folder.Path, "tiny"));
        var e = Assert.Throws<InvalidDataException>(() => ModelFiles.Load(ModelFiles.CardPath(folder.Path, "tiny")))!;
        Assert.That(e.Message, Does.Contain("resnet-9000").And.Contain(Architectures.MlpName).And.Contain(Architectures.CnnName));
    }

    [Test]
    public void WeightsThatDoNotFitTheCardAreRefusedNamingTheFile()
    {
        using var folder = new DataTempFolder();
        TinyModels.SaveClassifier(folder.Path);
        // The card now promises a wider hidden layer than the weights have.
        var card = ModelCard.Load(ModelFiles.CardPath(folder.Path, "tiny"));
        card.Hyperparameters["hidden"] = 9;
        card.Save(ModelFiles.CardPath(folder.Path, "tiny"));
        var e = Assert.Throws<InvalidDataException>(() => ModelFiles.Load(ModelFiles.CardPath(folder.Path, "tiny")))!;
        Assert.That(e.Message, Does.Contain("tiny.safetensors"));
    }

    [Test]
    public void ACardWithMoreLabelsThanOutputsIsRefused()
    {
        using var folder = new DataTempFolder();
        using var model = TinyModels.Classifier();
        ModelFiles.Save(folder.Path, TinyModels.ClassifierCard() with { Labels = ["a", "b", "c", "d"] }, model);
        var e = Assert.Throws<InvalidDataException>(() => ModelFiles.Load(ModelFiles.CardPath(folder.Path, "tiny")))!;
        Assert.That(e.Message, Does.Contain("[1, 3]").And.Contain("[1, 4]"));
    }

    [Test]
    public void AMissingOrMistypedHyperparameterIsNamed()
    {
        var card = TinyModels.ClassifierCard() with { Hyperparameters = new JsonObject { ["inputs"] = 16, ["hidden"] = "eight", ["classes"] = 3 } };
        var e = Assert.Throws<InvalidDataException>(() => ModelRegistry.Default.Build(card))!;
        Assert.That(e.Message, Does.Contain("'hidden'").And.Contain("\"eight\"").And.Contain("an integer"));
        var missing = TinyModels.ClassifierCard() with { Hyperparameters = new JsonObject { ["inputs"] = 16, ["classes"] = 3 } };
        Assert.That(() => ModelRegistry.Default.Build(missing), Throws.TypeOf<InvalidDataException>().With.Message.Contains("'hidden' is missing"));
    }

    [Test]
    public void MalformedCardsSayWhatIsWrong()
    {
        Assert.That(() => ModelCard.FromJson("{", "x.json"), Throws.TypeOf<InvalidDataException>().With.Message.Contains("x.json"));
        string noLabels = TinyModels.ClassifierCard().ToJson().Replace("\"labels\"", "\"labelz\"");
        Assert.That(() => ModelCard.FromJson(noLabels), Throws.TypeOf<InvalidDataException>().With.Message.Contains("labels"));
        string future = TinyModels.ClassifierCard().ToJson().Replace("\"format_version\": 1", "\"format_version\": 99");
        Assert.That(() => ModelCard.FromJson(future), Throws.TypeOf<InvalidDataException>().With.Message.Contains("99"));
    }

    [Test]
    public void AnInputShapeOfMoreValuesThanAnArrayHoldsIsRefused()
    {
        // 65536 x 65536 = 2^32 values: in int the product wraps to 0.
        var card = JsonNode.Parse(TinyModels.ClassifierCard().ToJson())!;
        card["input"]!["shape"] = new JsonArray(65536, 65536);
        string huge = card.ToJsonString();
        Assert.That(() => ModelCard.FromJson(huge, "huge.json"), Throws.TypeOf<InvalidDataException>().With.Message
            .Contains("huge.json").And.Message.Contains("[65536, 65536] is 4294967296 values").And.Message.Contains("expected at most 2147483647"));
    }

    [Test, NonParallelizable]
    public void ALoadedModelsForwardFreesEverythingButItsOutput()
    {
        using var folder = new DataTempFolder();
        TinyModels.SaveClassifier(folder.Path);
        using var model = ModelFiles.Load(ModelFiles.CardPath(folder.Path, "tiny"));
        using var x = Tensor.FromArray(TinyModels.Image(1), 1, 1, 4, 4);
        model.Forward(x).Dispose();   // warm the pool
        long before = Support.Reference.SettledLiveBuffers();
        using (model.Forward(x))
            Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before + 1), "only the output is alive: every intermediate was freed");
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before));
    }

    /// <summary>The tiny classifier behind a scaling whose result its Forward never disposes, as a user's module might.</summary>
    private sealed class CarelessClassifier : Tensorium.Layers.Module
    {
        private readonly Tensorium.Layers.Sequential _inner;

        public CarelessClassifier() => _inner = RegisterModule("inner", TinyModels.Classifier());

        public override Tensor Forward(Tensor input) => _inner.Forward(input * 1.0);
    }

    [Test, NonParallelizable]
    public void ALoadedModelsForwardFreesWhatAModulesForwardLeftBehind()
    {
        using var folder = new DataTempFolder();
        using (var saved = new CarelessClassifier())
            ModelFiles.Save(folder.Path, TinyModels.ClassifierCard() with { Architecture = "careless-mlp" }, saved);
        var registry = ModelRegistry.WithBuiltIns();
        registry.Register("careless-mlp", _ => new CarelessClassifier());
        using var model = ModelFiles.Load(ModelFiles.CardPath(folder.Path, "tiny"), registry);
        using var x = Tensor.FromArray(TinyModels.Image(1), 1, 1, 4, 4);
        model.Forward(x).Dispose();   // warm the pool
        long before = Support.Reference.SettledLiveBuffers();
        using (model.Forward(x))
            Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before + 1), "only the output is alive: the scaled input was freed");
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before));
    }

    [Test]
    public void UsersRegisterTheirOwnArchitectures()
    {
        var registry = ModelRegistry.WithBuiltIns();
        registry.Register("wide-mlp", card => Architectures.Mlp(card.Int("inputs"), 2 * card.Int("hidden"), card.Int("classes")));
        Assert.That(() => registry.Register("wide-mlp", _ => TinyModels.Classifier()), Throws.ArgumentException.With.Message.Contains("already registered"));
        using var folder = new DataTempFolder();
        using var model = Architectures.Mlp(16, 16, 3, new Generator(1));
        ModelFiles.Save(folder.Path, TinyModels.ClassifierCard() with { Architecture = "wide-mlp" }, model);
        using var loaded = ModelFiles.Load(ModelFiles.CardPath(folder.Path, "tiny"), registry);
        Assert.That(loaded.Module.ParameterCount(), Is.EqualTo(16 * 16 + 16 + 16 * 3 + 3));
        Assert.That(registry.Contains("wide-mlp") && !ModelRegistry.Default.Contains("wide-mlp"), Is.True);
    }

    [Test]
    public void GreedyGenerationIsDeterministicAndRefusesUnknownCharacters()
    {
        using var folder = new DataTempFolder();
        TinyModels.SaveLanguageModel(folder.Path);
        using var model = ModelFiles.Load(ModelFiles.CardPath(folder.Path, "chars"));
        string a = string.Concat(TextGeneration.Generate(model, "abc", 12, 0, new Random(1)));
        string b = string.Concat(TextGeneration.Generate(model, "abc", 12, 0, new Random(2)));
        Assert.That(a, Has.Length.EqualTo(12));
        Assert.That(a, Is.EqualTo(b), "temperature 0 takes the most likely character: no randomness");
        Assert.That(a.All(c => TinyModels.Alphabet.Contains(c)), Is.True);
        Assert.That(() => TextGeneration.Generate(model, "xyz", 5, 1, new Random(1)),
            Throws.ArgumentException.With.Message.Contains("'x'").And.Message.Contains("vocabulary"));
    }

    [Test]
    public void TheExamplesCardsRebuildTheirModels()
    {
        // The examples build their models with the same code the registry uses: same parameter names.
        using var folder = new DataTempFolder();
        foreach (var (card, model) in new (ModelCard, Tensorium.Layers.Module)[]
        {
            (MlpExample.Card(), MlpExample.Build()),
            (CnnExample.Card("cnn", FashionMnist.ClassNames), CnnExample.Build()),
            (LstmExample.Card(), LstmExample.Build()),
        })
            using (model)
            {
                ModelFiles.Save(folder.Path, card, model);
                using var loaded = ModelFiles.Load(ModelFiles.CardPath(folder.Path, card.Name));
                using var x = Tensor.Uniform([2, 1, 28, 28], generator: new Generator(4));
                using var expected = model.Forward(x);
                using var actual = loaded.Forward(x);
                Assert.That(actual.ToArray<float>(), Is.EqualTo(expected.ToArray<float>()).Within(1e-5), card.Name);
            }
    }

    [Test]
    public void TheSequenceExamplesCardsRebuildTheirModels()
    {
        using var folder = new DataTempFolder();
        using (var lm = TransformerExample.Build(TinyModels.Alphabet.Length, new Generator(5)))
        {
            ModelFiles.Save(folder.Path, TransformerExample.Card(TinyModels.Alphabet, 2.5), lm);
            using var loaded = ModelFiles.Load(ModelFiles.CardPath(folder.Path, "transformer"));
            using var ids = Tensor.FromArray(new long[] { 1, 2, 3, 4 }, 1, 4);
            using var expected = lm.Forward(ids);
            using var actual = loaded.Forward(ids);
            Assert.That(actual.ToArray<float>(), Is.EqualTo(expected.ToArray<float>()).Within(1e-5));
            Assert.That(loaded.Card.Vocabulary, Is.EqualTo(TinyModels.Alphabet));
        }
        using (var seq2seq = Seq2SeqExample.Build(new Generator(6)))
        {
            ModelFiles.Save(folder.Path, Seq2SeqExample.Card(0.9), seq2seq);
            using var loaded = ModelFiles.Load(ModelFiles.CardPath(folder.Path, "seq2seq"));
            var rebuilt = (Seq2SeqTransformer)loaded.Module;
            using var source = Tensor.FromArray(Enumerable.Range(0, Seq2SeqExample.Length).Select(i => (long)(i % 10)).ToArray(), 1, Seq2SeqExample.Length);
            using var start = Tensor.FromArray(new long[] { 10, 3 }, 1, 2);
            using var expected = seq2seq.Forward(source, start);
            using var actual = rebuilt.Forward(source, start);
            Assert.That(actual.ToArray<float>(), Is.EqualTo(expected.ToArray<float>()).Within(1e-5));
            Assert.That(loaded.Card.Kind, Is.EqualTo(ModelKind.SequenceToSequence));
        }
    }
}
