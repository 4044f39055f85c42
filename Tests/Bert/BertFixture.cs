using Tensorium.Bert;
using Tensorium.Data;

namespace Tensorium.Tests.Bert;

/// <summary>
/// The tiny BERT of Tests/Fixtures/bert (made by make_fixture.py there, in plain PyTorch after
/// Hugging Face's formulas): its directory, config, and the inputs and outputs PyTorch computed.
/// </summary>
public static class BertFixture
{
    /// <summary>The fixture directory (config.json, vocab.txt, model.safetensors, expected.safetensors).</summary>
    public static string Directory => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "bert");

    /// <summary>The fixture's weights file.</summary>
    public static string Weights => Path.Combine(Directory, BertCheckpoint.WeightsFile);

    /// <summary>The fixture's config.</summary>
    public static BertConfig Config => BertConfig.Load(Path.Combine(Directory, BertCheckpoint.ConfigFile));

    /// <summary>The inputs and PyTorch's outputs by name (input_ids, token_type_ids, attention_mask, last_hidden_state, pooler_output, mlm_logits, classification_logits); dispose them.</summary>
    public static Dictionary<string, Tensor> Expected() => SafeTensors.Load(Path.Combine(Directory, "expected.safetensors"));
}
