using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Tensorium.Models;

/// <summary>The model card's JSON contract, generated at compile time (no reflection: trimming keeps it).</summary>
[JsonSerializable(typeof(ModelCard))]
[JsonSerializable(typeof(JsonNode))]
[JsonSerializable(typeof(int[]))]
internal sealed partial class ModelCardJson : JsonSerializerContext;
