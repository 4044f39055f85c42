namespace Tensorium.Models;

/// <summary>What a model does with its input, which decides how it is served.</summary>
public static class ModelKind
{
    /// <summary>Inputs to class scores (logits); the card's labels name the classes.</summary>
    public const string Classifier = "classifier";

    /// <summary>Token ids [B, T] to next-token logits [B, T, vocabulary]; the card's vocabulary is its alphabet.</summary>
    public const string LanguageModel = "language-model";

    /// <summary>Any other model: served as inputs to raw outputs.</summary>
    public const string Regression = "regression";
}
