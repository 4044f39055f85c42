using System.Text.Json.Serialization;

namespace Tensorium.Models;

/// <summary>
/// What one example fed to a model looks like: its shape (without the batch dimension), its
/// element type and the range its values must lie in. A server checks requests against it; a
/// program embedding a model can do the same with <see cref="Check"/>.
/// </summary>
public sealed record InputSpec
{
    /// <summary>The shape of one example, e.g. [1, 28, 28] for a Fashion-MNIST image or [784] for a flat one.</summary>
    [JsonPropertyName("shape")]
    public required int[] Shape { get; init; }

    /// <summary>The element type: "float32" for images and features, "int64" for token ids.</summary>
    [JsonPropertyName("dtype")]
    public string DType { get; init; } = "float32";

    /// <summary>The smallest value allowed (inclusive), or null for no bound.</summary>
    [JsonPropertyName("minimum")]
    public double? Minimum { get; init; }

    /// <summary>The largest value allowed (inclusive), or null for no bound.</summary>
    [JsonPropertyName("maximum")]
    public double? Maximum { get; init; }

    /// <summary>The number of values in one example (the product of <see cref="Shape"/>).</summary>
    /// <exception cref="OverflowException">More than <see cref="int.MaxValue"/> values (a card read by <see cref="ModelCard.FromJson"/> never has that many).</exception>
    [JsonIgnore]
    public int ElementCount => Shape.Aggregate(1, (a, b) => checked(a * b));

    /// <summary>A square image of <paramref name="channels"/> x <paramref name="size"/> x <paramref name="size"/> values in [0, 1]: 1 x 28 x 28 grey for the Fashion-MNIST examples.</summary>
    public static InputSpec Image(int size = 28, int channels = 1) => new() { Shape = [channels, size, size], Minimum = 0, Maximum = 1 };

    /// <summary>
    /// Null when every value is finite and in range; otherwise the position of the first value
    /// that is not, and why ("is NaN; expected a finite number").
    /// </summary>
    public (int Index, string Reason)? Check(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (!float.IsFinite(v)) return (i, $"is {v}; expected a finite number");
            if (v < Minimum || v > Maximum)
                return (i, $"is {v}; expected values in [{Minimum?.ToString() ?? "-inf"}, {Maximum?.ToString() ?? "inf"}]");
        }
        return null;
    }

    /// <summary>The shape as text, e.g. "[1, 28, 28]".</summary>
    [JsonIgnore]
    public string ShapeText => $"[{string.Join(", ", Shape)}]";
}
