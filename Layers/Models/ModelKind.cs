namespace Tensorium.Models;

/// <summary>What a model does with its input, which decides how it is served.</summary>
public static class ModelKind
{
    /// <summary>Inputs to class scores (logits); the card's labels name the classes.</summary>
    public const string Classifier = "classifier";

    /// <summary>Token ids [B, T] to next-token logits [B, T, vocabulary]; the card's vocabulary is its alphabet.</summary>
    public const string LanguageModel = "language-model";

    /// <summary>Source token ids to target token ids through an encoder and a decoder (<see cref="Seq2SeqTransformer"/>); used from code, not served over HTTP.</summary>
    public const string SequenceToSequence = "sequence-to-sequence";

    /// <summary>Any other model: served as inputs to raw outputs.</summary>
    public const string Regression = "regression";
}
