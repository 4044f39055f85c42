using System.Text.Json.Nodes;
using Tensorium.Layers;
using Tensorium.Models;
using Tensorium.Serving;

namespace Tensorium.Tests.Serving;

/// <summary>Tiny models saved with their cards, so the server tests load in milliseconds.</summary>
public static class TinyModels
{
    /// <summary>The tiny classifier's labels.</summary>
    public static readonly string[] Labels = ["ant", "bee", "cat"];

    /// <summary>The tiny language model's alphabet.</summary>
    public const string Alphabet = " abcdefgh";

    /// <summary>The card of an MLP over 1x4x4 images in [0, 1] with three classes.</summary>
    public static ModelCard ClassifierCard(string name = "tiny") => new()
    {
        Name = name,
        Architecture = Architectures.MlpName,
        Kind = ModelKind.Classifier,
        Hyperparameters = new JsonObject { ["inputs"] = 16, ["hidden"] = 8, ["classes"] = Labels.Length },
        Input = InputSpec.Image(size: 4),
        Labels = Labels,
        Metrics = new() { ["test_accuracy"] = 0.5 },
    };

    /// <summary>An MLP for <see cref="ClassifierCard"/>, its weights drawn from <paramref name="seed"/>.</summary>
    public static Sequential Classifier(ulong seed = 1) => Architectures.Mlp(16, 8, Labels.Length, new Generator(seed));

    /// <summary>Saves a tiny classifier (weights from <paramref name="seed"/>) as <paramref name="name"/> in <paramref name="directory"/>.</summary>
    public static void SaveClassifier(string directory, string name = "tiny", ulong seed = 1)
    {
        using var model = Classifier(seed);
        ModelFiles.Save(directory, ClassifierCard(name), model);
    }

    /// <summary>The card of a one-block character Transformer over <see cref="Alphabet"/>.</summary>
    public static ModelCard LanguageModelCard(string name = "chars") => new()
    {
        Name = name,
        Architecture = Architectures.CharTransformerName,
        Kind = ModelKind.LanguageModel,
        Hyperparameters = new JsonObject { ["context"] = 8, ["d_model"] = 16, ["heads"] = 2, ["layers"] = 1, ["feed_forward"] = 32 },
        Input = new InputSpec { Shape = [8], DType = "int64", Minimum = 0, Maximum = Alphabet.Length - 1 },
        Vocabulary = Alphabet,
    };

    /// <summary>Saves a tiny language model as <paramref name="name"/> in <paramref name="directory"/>.</summary>
    public static void SaveLanguageModel(string directory, string name = "chars")
    {
        using var model = new CharTransformer(Alphabet.Length, 8, 16, 2, 1, 32, new Generator(3));
        ModelFiles.Save(directory, LanguageModelCard(name), model);
    }

    /// <summary>Registered name of <see cref="GatedClassifier"/> (register it in a registry of the test's own).</summary>
    public const string GatedArchitecture = "gated-mlp";

    /// <summary>Saves a <see cref="GatedClassifier"/> with the tiny classifier's card (architecture <see cref="GatedArchitecture"/>).</summary>
    public static void SaveGatedClassifier(string directory, string name = "tiny")
    {
        using var model = new GatedClassifier();
        ModelFiles.Save(directory, ClassifierCard(name) with { Architecture = GatedArchitecture }, model);
    }

    /// <summary>
    /// Saves a <see cref="GatedClassifier"/> in <paramref name="directory"/> and serves it outside a host (a
    /// <see cref="ServedModel"/> with its batcher), its gate closed: each forward pass waits until the test opens it.
    /// </summary>
    public static (ServedModel Served, GatedClassifier Gated) ServeGatedClassifier(string directory, ServingOptions options)
    {
        SaveGatedClassifier(directory);
        GatedClassifier? gated = null;
        var registry = ModelRegistry.WithBuiltIns();
        registry.Register(GatedArchitecture, _ => gated = new GatedClassifier());
        var served = new ServedModel(ModelFiles.Load(ModelFiles.CardPath(directory, "tiny"), registry), options, new ServingMetrics());
        gated!.Entered.Reset();   // loading ran one check example through it
        gated.Gate.Reset();
        return (served, gated);
    }

    /// <summary>A 4x4 image whose pixels are <paramref name="seed"/>-dependent values in [0, 1].</summary>
    public static float[] Image(int seed) => [.. Enumerable.Range(0, 16).Select(i => ((i * 7 + seed * 13) % 17) / 16f)];
}

/// <summary>
/// The tiny classifier with a gate in its forward pass: a test closes <see cref="Gate"/>, waits
/// for <see cref="Entered"/> and so acts while a batch is inside the model, deterministically.
/// </summary>
public sealed class GatedClassifier : Module
{
    private readonly Sequential _inner;

    /// <summary>The tiny classifier's MLP (weights from <paramref name="seed"/>) behind a gate, open at first.</summary>
    public GatedClassifier(ulong seed = 1) => _inner = RegisterModule("inner", TinyModels.Classifier(seed));

    /// <summary>Set when a forward pass has started.</summary>
    public ManualResetEventSlim Entered { get; } = new(false);

    /// <summary>A forward pass waits here (up to 10 s) until it is set.</summary>
    public ManualResetEventSlim Gate { get; } = new(true);

    /// <summary>Whether a forward pass found its weights already freed once the gate let it through.</summary>
    public bool SawFreedWeights { get; private set; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        Entered.Set();
        Gate.Wait(TimeSpan.FromSeconds(10));
        SawFreedWeights |= Parameters().Any(p => p.IsDisposed);
        return _inner.Forward(input);
    }
}
