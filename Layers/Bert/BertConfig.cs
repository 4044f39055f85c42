using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tensorium.Bert;

/// <summary>
/// The sizes of a BERT model, as in a Hugging Face <c>config.json</c> (the same keys, so a
/// published checkpoint's file reads as it is and the files written here load in
/// <c>transformers</c>). Keys this code does not use (architectures, model_type, ...) are ignored
/// on reading.
/// </summary>
public sealed record BertConfig
{
    /// <summary>Tokens in the vocabulary (rows of the word embedding and MLM logits).</summary>
    public int VocabSize { get; init; } = 30522;
    /// <summary>Model width H.</summary>
    public int HiddenSize { get; init; } = 768;
    /// <summary>Encoder layers.</summary>
    public int NumHiddenLayers { get; init; } = 12;
    /// <summary>Attention heads; must divide <see cref="HiddenSize"/>.</summary>
    public int NumAttentionHeads { get; init; } = 12;
    /// <summary>Width of each layer's feed-forward network.</summary>
    public int IntermediateSize { get; init; } = 3072;
    /// <summary>Longest sequence (rows of the position embedding).</summary>
    public int MaxPositionEmbeddings { get; init; } = 512;
    /// <summary>Segments (rows of the token type embedding): 2 for sentence pairs.</summary>
    public int TypeVocabSize { get; init; } = 2;
    /// <summary>LayerNorm eps (1e-12 in BERT).</summary>
    public double LayerNormEps { get; init; } = 1e-12;
    /// <summary>Dropout on embeddings and on each sublayer's output, in training.</summary>
    public double HiddenDropoutProb { get; init; } = 0.1;
    /// <summary>Dropout on the attention probabilities, in training.</summary>
    public double AttentionProbsDropoutProb { get; init; } = 0.1;
    /// <summary>The feed-forward activation; only "gelu" (exact, erf) is supported, as in the published BERTs.</summary>
    public string HiddenAct { get; init; } = "gelu";
    /// <summary>Id of [PAD] (written to config.json for other tools; the model does not need it).</summary>
    public int PadTokenId { get; init; }

    /// <summary>Throws naming the first size that cannot build a model.</summary>
    public BertConfig Validate()
    {
        void Positive(int value, string key)
        {
            if (value <= 0) throw new ArgumentException($"BertConfig: {key} must be positive, got {value}.");
        }
        Positive(VocabSize, "vocab_size");
        Positive(HiddenSize, "hidden_size");
        Positive(NumHiddenLayers, "num_hidden_layers");
        Positive(NumAttentionHeads, "num_attention_heads");
        Positive(IntermediateSize, "intermediate_size");
        Positive(MaxPositionEmbeddings, "max_position_embeddings");
        Positive(TypeVocabSize, "type_vocab_size");
        if (HiddenSize % NumAttentionHeads != 0)
            throw new ArgumentException($"BertConfig: hidden_size {HiddenSize} must be a multiple of num_attention_heads {NumAttentionHeads}.");
        if (HiddenAct != "gelu")
            throw new ArgumentException($"BertConfig: hidden_act \"{HiddenAct}\" is not supported; expected \"gelu\" (exact erf GELU, as in BERT).");
        if (!(LayerNormEps > 0)) throw new ArgumentException($"BertConfig: layer_norm_eps must be positive, got {LayerNormEps}.");
        foreach (var (p, key) in new[] { (HiddenDropoutProb, "hidden_dropout_prob"), (AttentionProbsDropoutProb, "attention_probs_dropout_prob") })
            if (!(p >= 0 && p < 1)) throw new ArgumentException($"BertConfig: {key} must be in [0, 1), got {p}.");
        return this;
    }

    /// <summary>Reads a Hugging Face <c>config.json</c>; missing keys keep bert-base's values.</summary>
    /// <exception cref="InvalidDataException">The file is not JSON, a value has the wrong type, or the sizes cannot build a model.</exception>
    public static BertConfig Load(string path)
    {
        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new InvalidDataException($"BERT config '{path}': expected a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"BERT config '{path}': not valid JSON ({e.Message}).", e);
        }
        var defaults = new BertConfig();
        try
        {
            int Int(string key, int fallback) => json[key] is { } node ? node.GetValue<int>() : fallback;
            double Double(string key, double fallback) => json[key] is { } node ? node.GetValue<double>() : fallback;
            return new BertConfig
            {
                VocabSize = Int("vocab_size", defaults.VocabSize),
                HiddenSize = Int("hidden_size", defaults.HiddenSize),
                NumHiddenLayers = Int("num_hidden_layers", defaults.NumHiddenLayers),
                NumAttentionHeads = Int("num_attention_heads", defaults.NumAttentionHeads),
                IntermediateSize = Int("intermediate_size", defaults.IntermediateSize),
                MaxPositionEmbeddings = Int("max_position_embeddings", defaults.MaxPositionEmbeddings),
                TypeVocabSize = Int("type_vocab_size", defaults.TypeVocabSize),
                LayerNormEps = Double("layer_norm_eps", defaults.LayerNormEps),
                HiddenDropoutProb = Double("hidden_dropout_prob", defaults.HiddenDropoutProb),
                AttentionProbsDropoutProb = Double("attention_probs_dropout_prob", defaults.AttentionProbsDropoutProb),
                HiddenAct = json["hidden_act"] is { } act ? act.GetValue<string>() : defaults.HiddenAct,
                PadTokenId = Int("pad_token_id", defaults.PadTokenId),
            }.Validate();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"BERT config '{path}': {e.Message}", e);
        }
    }

    /// <summary>Writes the config as a Hugging Face <c>config.json</c> (model_type "bert").</summary>
    public void Save(string path)
    {
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray("BertForMaskedLM"),
            ["model_type"] = "bert",
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["intermediate_size"] = IntermediateSize,
            ["hidden_act"] = HiddenAct,
            ["hidden_dropout_prob"] = HiddenDropoutProb,
            ["attention_probs_dropout_prob"] = AttentionProbsDropoutProb,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["type_vocab_size"] = TypeVocabSize,
            ["layer_norm_eps"] = LayerNormEps,
            ["pad_token_id"] = PadTokenId,
        };
        File.WriteAllText(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
