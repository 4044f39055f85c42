using Tensorium.Data;
using Tensorium.Layers;

namespace Tensorium.Models;

/// <summary>
/// A model on disk is two files in one folder: <c>NAME.safetensors</c> (the weights, a
/// <see cref="Checkpoint"/>) and <c>NAME.json</c> (its <see cref="ModelCard"/>). This saves
/// both and loads them back into a ready <see cref="LoadedModel"/>.
/// </summary>
public static class ModelFiles
{
    /// <summary>The card's file name in <paramref name="directory"/> for model <paramref name="name"/>.</summary>
    public static string CardPath(string directory, string name) => Path.Combine(directory, name + ".json");

    /// <summary>The weights' file name in <paramref name="directory"/> for model <paramref name="name"/>.</summary>
    public static string WeightsPath(string directory, string name) => Path.Combine(directory, name + ".safetensors");

    /// <summary>
    /// Writes <paramref name="model"/>'s weights and then <paramref name="card"/> into
    /// <paramref name="directory"/> (created if missing), each atomically, so a server watching
    /// the folder never reads half a file. Returns the card's path.
    /// </summary>
    public static string Save(string directory, ModelCard card, Module model)
    {
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(model);
        Directory.CreateDirectory(directory);
        Checkpoint.Save(WeightsPath(directory, card.Name), model,
            metadata: new Dictionary<string, string> { ["architecture"] = card.Architecture });
        string cardPath = CardPath(directory, card.Name);
        card.Save(cardPath);
        return cardPath;
    }

    /// <summary>
    /// Reads the card at <paramref name="cardPath"/>, builds its architecture from
    /// <paramref name="registry"/> (default <see cref="ModelRegistry.Default"/>), loads the
    /// weights next to it (strictly: every name and shape must match) and runs one zero example
    /// through it to check that the outputs fit the card (as many classes as labels, as many
    /// logits as characters).
    /// </summary>
    /// <exception cref="InvalidDataException">The card, the weights or their match is wrong; the message names the file and the problem.</exception>
    /// <exception cref="FileNotFoundException">The card or the weights are missing.</exception>
    public static LoadedModel Load(string cardPath, ModelRegistry? registry = null)
    {
        var card = ModelCard.Load(cardPath);
        string stem = Path.GetFileNameWithoutExtension(cardPath);
        if (card.Name != stem)
            throw new InvalidDataException($"model card '{cardPath}': name '{card.Name}' differs from the file name '{stem}'; expected them equal.");
        string weights = WeightsPath(Path.GetDirectoryName(Path.GetFullPath(cardPath))!, card.Name);
        if (!File.Exists(weights))
            throw new FileNotFoundException($"model card '{cardPath}': its weights '{weights}' are missing.", weights);
        var module = (registry ?? ModelRegistry.Default).Build(card);
        try
        {
            Checkpoint.LoadInto(weights, module, strict: true);
            var model = new LoadedModel(card, module, cardPath, weights);
            CheckOutputs(model);
            return model;
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }

    /// <summary>The cards in <paramref name="directory"/> (every <c>*.json</c>), sorted by name.</summary>
    public static IReadOnlyList<string> FindCards(string directory) =>
        Directory.Exists(directory) ? [.. Directory.GetFiles(directory, "*.json").Order(StringComparer.Ordinal)] : [];

    private static void CheckOutputs(LoadedModel model)
    {
        var card = model.Card;
        if (card.Kind == ModelKind.LanguageModel)
        {
            using var ids = Tensor.Zeros([1, 1], DType.Int64);
            using var logits = model.Forward(ids);
            int vocabulary = card.Vocabulary!.Length;
            if (logits.Rank != 3 || logits.Size(-1) != vocabulary)
                throw new InvalidDataException($"model '{card.Name}': outputs [{string.Join(", ", logits.Shape)}] for one token; expected [1, 1, {vocabulary}] (the vocabulary's size).");
            return;
        }
        if (card.Kind == ModelKind.SequenceToSequence)
        {
            if (model.Module is not Seq2SeqTransformer seq2seq) return;   // a user's own two-input model: its builder vouches for it
            using var source = Tensor.Zeros([1, .. card.Input.Shape], DType.Int64);
            using var start = Tensor.Zeros([1, 1], DType.Int64);
            // Two inputs, so no Module.Predict: the same scopes by hand, the TensorScope freeing
            // the encoder's and decoder's intermediates.
            using (new TensorScope())
            using (new Layers.EvaluationScope())
            using (Tape.NoGrad())
            using (var logits = seq2seq.Forward(source, start))
                if (logits.Size(-1) != seq2seq.Vocabulary)
                    throw new InvalidDataException($"model '{card.Name}': outputs [{string.Join(", ", logits.Shape)}]; expected {seq2seq.Vocabulary} logits per token.");
            return;
        }
        using var example = Tensor.Zeros([1, .. card.Input.Shape]);
        using var outputs = model.Forward(example);
        if (card.Kind == ModelKind.Classifier && (outputs.Rank != 2 || outputs.Size(1) != card.Labels!.Count))
            throw new InvalidDataException($"model '{card.Name}': outputs [{string.Join(", ", outputs.Shape)}] for one input of {card.Input.ShapeText}; expected [1, {card.Labels!.Count}] (one score per label).");
    }
}
