using Tensorium.Models;

namespace Tensorium.Serving;

/// <summary>What <c>GET /v1/models</c> says about one served model.</summary>
/// <param name="Name">The name it is served under.</param>
/// <param name="Kind">classifier, language-model or regression.</param>
/// <param name="LoadedAt">When these weights were loaded.</param>
/// <param name="Endpoints">The endpoints that accept it.</param>
/// <param name="Card">Its model card.</param>
public sealed record ModelInfo(string Name, string Kind, DateTimeOffset LoadedAt, IReadOnlyList<string> Endpoints, ModelCard Card)
{
    /// <summary>The description of <paramref name="served"/>.</summary>
    public static ModelInfo Of(ServedModel served)
    {
        var card = served.Model.Card;
        string self = $"/v1/models/{card.Name}";
        IReadOnlyList<string> endpoints = card.Kind switch
        {
            ModelKind.LanguageModel => [self + "/generate"],
            ModelKind.SequenceToSequence => [],   // two inputs: used from code (ModelFiles.Load), not over HTTP
            _ => [self + "/predict"],
        };
        return new ModelInfo(card.Name, card.Kind, served.LoadedAt, endpoints, card);
    }
}
