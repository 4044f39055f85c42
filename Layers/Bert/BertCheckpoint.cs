using Tensorium.Data;
using Tensorium.Layers;

namespace Tensorium.Bert;

/// <summary>
/// What <see cref="BertCheckpoint.LoadInto"/> did besides loading: the model's tensors that the
/// file did not have and that keep their initial values (a fresh head), and the file's tensors
/// that the model has no place for (another model's head, a tied duplicate).
/// </summary>
/// <param name="Initialized">The model's tensors left as initialised (empty after a strict load).</param>
/// <param name="Skipped">The file's tensors not used.</param>
public sealed record BertLoadReport(IReadOnlyList<string> Initialized, IReadOnlyList<string> Skipped);

/// <summary>
/// Hugging Face BERT checkpoints: a directory with <c>config.json</c> (<see cref="BertConfig"/>),
/// <c>vocab.txt</c> and <c>model.safetensors</c>. The weights of every BERT class share one
/// naming: the encoder is <c>embeddings.*</c>, <c>encoder.layer.N.*</c>, <c>pooler.*</c>, with
/// the prefix <c>bert.</c> in every model with a head (BertForMaskedLM, BertForPreTraining,
/// BertForSequenceClassification) and without it in a plain BertModel; the heads are
/// <c>cls.predictions.*</c> (masked LM), <c>cls.seq_relationship.*</c> (next sentence) and
/// <c>classifier.*</c>. Loading reads either layout into any of <see cref="BertModel"/>,
/// <see cref="BertForMaskedLM"/> and <see cref="BertForSequenceClassification"/>.
/// </summary>
public static class BertCheckpoint
{
    /// <summary>The weights' file name in a checkpoint directory.</summary>
    public const string WeightsFile = "model.safetensors";
    /// <summary>The config's file name in a checkpoint directory.</summary>
    public const string ConfigFile = "config.json";
    /// <summary>The WordPiece vocabulary's file name in a checkpoint directory.</summary>
    public const string VocabularyFile = "vocab.txt";

    private const string Prefix = "bert.";

    /// <summary>
    /// Loads the BERT weights at <paramref name="weightsPath"/> (safetensors, prefixed or not; F16
    /// and BF16 become float32; old <c>LayerNorm.gamma/beta</c> names are read as weight/bias) into
    /// <paramref name="model"/>. Every embedding and encoder-layer tensor of the model must be in
    /// the file, and every tensor in the file must be the model's or belong to a BERT head the model
    /// does not have (those are skipped and reported, as the next-sentence head of a published
    /// BertForPreTraining checkpoint): anything else, a missing or unknown name or a wrong shape,
    /// is an error naming the tensors, and nothing is loaded. With <paramref name="strict"/> the
    /// model's heads (pooler, masked-LM head, classifier) must be in the file too; without it the
    /// ones missing keep their initial weights and are reported, which is how fine-tuning starts
    /// a classifier from a pretrained encoder.
    /// </summary>
    /// <exception cref="InvalidDataException">Missing or unknown tensors, or shapes that differ; the message names them and the file.</exception>
    public static BertLoadReport LoadInto(string weightsPath, Module model, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        string prefix = model switch
        {
            BertModel => "",
            BertForMaskedLM or BertForSequenceClassification => Prefix,
            _ => throw new ArgumentException($"BertCheckpoint.LoadInto: expected a BertModel, BertForMaskedLM or BertForSequenceClassification, got {model.GetType().Name}."),
        };
        var own = model.NamedParameters().Select(p => p.Name).ToHashSet();
        var tensors = SafeTensors.Load(weightsPath, model.Parameters().First().DType);
        try
        {
            var state = new Dictionary<string, Tensor>();
            var skipped = new List<string>();
            var unexpected = new List<string>();
            foreach (var (fileName, tensor) in tensors)
            {
                string name = InModelLayout(fileName, prefix);
                if (own.Contains(name)) state[name] = tensor;
                else if (IsKnownBertTensor(name, prefix)) skipped.Add(fileName);
                else unexpected.Add(fileName);
            }
            var missing = own.Where(n => !state.ContainsKey(n)).ToList();
            var missingRequired = missing.Where(n => strict || IsEncoder(n, prefix)).ToList();
            if (missingRequired.Count > 0 || unexpected.Count > 0)
                throw new InvalidDataException($"BertCheckpoint.LoadInto '{weightsPath}' into {model.GetType().Name}: " +
                    $"missing [{string.Join(", ", missingRequired)}], unexpected [{string.Join(", ", unexpected)}]; nothing was loaded " +
                    "(does config.json describe these weights?).");
            try
            {
                model.LoadStateDict(state, strict: false);    // checks every shape before writing anything
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"BertCheckpoint.LoadInto '{weightsPath}': {e.Message}", e);
            }
            return new BertLoadReport(missing, skipped);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>
    /// Writes <paramref name="model"/>'s weights as <c>model.safetensors</c> and
    /// <paramref name="config"/> as <c>config.json</c> into <paramref name="directory"/> (created
    /// if missing): Hugging Face's layout, so <c>BertForMaskedLM.from_pretrained(directory)</c>
    /// reads them (the tied decoder weight is not written; Hugging Face ties it on loading).
    /// </summary>
    public static void Save(string directory, Module model, BertConfig config)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        Directory.CreateDirectory(directory);
        Checkpoint.Save(Path.Combine(directory, WeightsFile), model);
        config.Save(Path.Combine(directory, ConfigFile));
    }

    /// <summary>A file's tensor name as the model names it: the encoder with or without "bert.", gamma/beta as weight/bias.</summary>
    private static string InModelLayout(string name, string prefix)
    {
        if (name.EndsWith(".gamma", StringComparison.Ordinal)) name = name[..^".gamma".Length] + ".weight";
        else if (name.EndsWith(".beta", StringComparison.Ordinal)) name = name[..^".beta".Length] + ".bias";
        string bare = name.StartsWith(Prefix, StringComparison.Ordinal) ? name[Prefix.Length..] : name;
        bool inBertModel = IsEncoder(bare, "") || bare.StartsWith("pooler.", StringComparison.Ordinal);
        return inBertModel ? prefix + bare : name;
    }

    /// <summary>True for the embeddings and the encoder layers (what every BERT class has), in the model's layout.</summary>
    private static bool IsEncoder(string name, string prefix) =>
        name.StartsWith(prefix + "embeddings.", StringComparison.Ordinal) || name.StartsWith(prefix + "encoder.", StringComparison.Ordinal);

    /// <summary>
    /// Tensors a BERT checkpoint may hold that this model has no place for: the pooler, the
    /// heads of the other BERT classes, the masked-LM decoder (tied to the word embeddings; its
    /// bias is cls.predictions.bias again) and the position_ids buffer of older files.
    /// </summary>
    private static bool IsKnownBertTensor(string name, string prefix) =>
        name.StartsWith(prefix + "pooler.", StringComparison.Ordinal) || name.StartsWith("cls.", StringComparison.Ordinal)
        || name.StartsWith("classifier.", StringComparison.Ordinal) || name == prefix + "embeddings.position_ids";
}
