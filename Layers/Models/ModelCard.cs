using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Tensorium.Data;

namespace Tensorium.Models;

/// <summary>
/// Everything needed to rebuild a trained model from its weights, and to use it correctly:
/// the architecture's registered name and hyperparameters, what an input looks like, the class
/// labels or the vocabulary, and the metrics measured in training. Saved as <c>NAME.json</c>
/// next to <c>NAME.safetensors</c> (<see cref="ModelFiles"/>); plain JSON, so people and other
/// tools read it too.
/// </summary>
public sealed record ModelCard
{
    /// <summary>The card format this code writes; a newer one is refused rather than misread.</summary>
    public const int CurrentFormatVersion = 1;

    // The card's JSON contract is generated at compile time (ModelCardJson), not found by
    // reflection, so a trimmed app (the gpu-check runner) keeps it whole.
    private static readonly ModelCardJson Json = new(new JsonSerializerOptions
    {
        WriteIndented = true,
        // Labels and descriptions are for people: write "'" and non-ASCII letters as themselves.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    });

    /// <summary>The card format version (<see cref="CurrentFormatVersion"/> when written by this code).</summary>
    [JsonPropertyName("format_version")]
    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>The model's name: its file names and the name it is served under.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>The architecture's name in a <see cref="ModelRegistry"/>, e.g. "mlp" or "cnn".</summary>
    [JsonPropertyName("architecture")]
    public required string Architecture { get; init; }

    /// <summary>What the model does: one of <see cref="ModelKind"/>'s names.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; init; } = ModelKind.Classifier;

    /// <summary>The arguments the architecture's builder needs (sizes, layer counts), by name.</summary>
    [JsonPropertyName("hyperparameters")]
    public JsonObject Hyperparameters { get; init; } = [];

    /// <summary>What one input example looks like.</summary>
    [JsonPropertyName("input")]
    public required InputSpec Input { get; init; }

    /// <summary>The class names of a classifier, indexed by class; null for other models.</summary>
    [JsonPropertyName("labels")]
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>A character language model's alphabet (its token ids are positions in it); null for other models.</summary>
    [JsonPropertyName("vocabulary")]
    public string? Vocabulary { get; init; }

    /// <summary>Metrics measured in training (e.g. "test_accuracy"), by name.</summary>
    [JsonPropertyName("metrics")]
    public Dictionary<string, double> Metrics { get; init; } = [];

    /// <summary>Free text: what the model was trained on, by whom, caveats.</summary>
    [JsonPropertyName("description")]
    public string? Description { get; init; }

    /// <summary>
    /// The integer hyperparameter <paramref name="key"/>; an <see cref="InvalidDataException"/>
    /// naming the card and the key when it is missing or not an integer.
    /// </summary>
    public int Int(string key)
    {
        var e = Element(key, "an integer");
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) ? v : throw Wrong(key, "an integer");
    }

    /// <summary>The integer hyperparameter <paramref name="key"/>, or <paramref name="fallback"/> when the card has none.</summary>
    public int Int(string key, int fallback) => Hyperparameters.ContainsKey(key) ? Int(key) : fallback;

    /// <summary>The text hyperparameter <paramref name="key"/>; an <see cref="InvalidDataException"/> when missing or not text.</summary>
    public string Text(string key)
    {
        var e = Element(key, "a string");
        return e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Wrong(key, "a string");
    }

    // Nodes built in code hold CLR values and nodes read from a file hold JSON: both read as JSON here.
    private JsonElement Element(string key, string expected) =>
        Hyperparameters.TryGetPropertyValue(key, out var node) && node != null
            ? JsonSerializer.SerializeToElement(node, Json.JsonNode)
            : throw new InvalidDataException($"model card '{Name}' (architecture {Architecture}): hyperparameter '{key}' is missing; expected {expected}.");

    private InvalidDataException Wrong(string key, string expected) =>
        new($"model card '{Name}' (architecture {Architecture}): hyperparameter '{key}' is {Hyperparameters[key]!.ToJsonString()}; expected {expected}.");

    /// <summary>The card as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json.ModelCard);

    /// <summary>Parses a card; <paramref name="source"/> names where it came from in error messages.</summary>
    /// <exception cref="InvalidDataException">The text is not a valid card; the message says what is wrong.</exception>
    public static ModelCard FromJson(string json, string source = "model card")
    {
        ModelCard? card;
        try
        {
            card = JsonSerializer.Deserialize(json, Json.ModelCard);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not a valid model card ({e.Message}).", e);
        }
        if (card == null) throw new InvalidDataException($"{source}: expected a JSON object, got null.");
        if (card.FormatVersion > CurrentFormatVersion)
            throw new InvalidDataException($"{source}: format_version {card.FormatVersion} is newer than this code reads ({CurrentFormatVersion}).");
        if (string.IsNullOrWhiteSpace(card.Name) || string.IsNullOrWhiteSpace(card.Architecture))
            throw new InvalidDataException($"{source}: 'name' and 'architecture' must be non-empty.");
        if (card.Input.Shape is not { Length: > 0 } shape || shape.Any(d => d <= 0))
            throw new InvalidDataException($"{source}: input shape {JsonSerializer.Serialize(card.Input.Shape, Json.Int32Array)} must be a non-empty list of positive sizes.");
        // Computed exactly (not in int, which would wrap): one example must fit in one array.
        var elements = shape.Aggregate(System.Numerics.BigInteger.One, (a, d) => a * d);
        if (elements > int.MaxValue)
            throw new InvalidDataException($"{source}: input shape {card.Input.ShapeText} is {elements} values per example; expected at most {int.MaxValue}.");
        if (card.Input.DType is not ("float32" or "int64"))
            throw new InvalidDataException($"{source}: input dtype '{card.Input.DType}'; expected float32 or int64.");
        if (card.Kind == ModelKind.Classifier && card.Labels is not { Count: > 0 })
            throw new InvalidDataException($"{source}: a {ModelKind.Classifier} card needs 'labels' (its class names).");
        if (card.Kind == ModelKind.LanguageModel && string.IsNullOrEmpty(card.Vocabulary))
            throw new InvalidDataException($"{source}: a {ModelKind.LanguageModel} card needs 'vocabulary' (its alphabet).");
        return card;
    }

    /// <summary>Writes the card to <paramref name="path"/> atomically (a reader sees the old card or the new one, never half).</summary>
    public void Save(string path) =>
        AtomicFile.Write(path, "ModelCard.Save", stream => JsonSerializer.Serialize(stream, this, Json.ModelCard));

    /// <summary>Reads the card at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid card; the message names the file.</exception>
    public static ModelCard Load(string path) => FromJson(File.ReadAllText(path), $"model card '{path}'");
}
