using System.Buffers;
using System.Text.Json;
using Tensorium.Models;

namespace Tensorium.Serving;

/// <summary>
/// Writes a predict answer: <c>{"model", "outputs", "predictions" (a classifier's top classes),
/// "batch_size"}</c>, with one list per example when the request sent a batch. Written by hand
/// with a <see cref="Utf8JsonWriter"/> rather than by serializing an object: the answer is on
/// every request's path, and the serializer would first build the object and look its shape up.
/// </summary>
public static class PredictAnswer
{
    /// <summary>How many classes a classifier's answer lists per example.</summary>
    public const int TopClasses = 5;

    /// <summary>Writes the answer for <paramref name="inputs"/> from <paramref name="output"/> as UTF-8 JSON to <paramref name="destination"/>.</summary>
    public static void Write(IBufferWriter<byte> destination, ModelCard card, ParsedInputs inputs, BatchOutput output)
    {
        using var json = new Utf8JsonWriter(destination);
        int width = output.Width;
        bool classes = output.Probabilities != null && card.Kind == ModelKind.Classifier;
        json.WriteStartObject();
        json.WriteString("model"u8, card.Name);
        json.WritePropertyName("outputs"u8);
        if (inputs.Batched) json.WriteStartArray();
        for (int i = 0; i < inputs.Count; i++) WriteNumbers(json, output.Outputs.AsSpan(i * width, width));
        if (inputs.Batched) json.WriteEndArray();
        if (classes)
        {
            json.WritePropertyName("predictions"u8);
            if (inputs.Batched) json.WriteStartArray();
            for (int i = 0; i < inputs.Count; i++)
                WritePredictions(json, ClassPrediction.Top(output.Probabilities.AsSpan(i * width, width), card.Labels, TopClasses));
            if (inputs.Batched) json.WriteEndArray();
        }
        json.WriteNumber("batch_size"u8, output.BatchSize);
        json.WriteEndObject();
    }

    private static void WriteNumbers(Utf8JsonWriter json, ReadOnlySpan<float> values)
    {
        json.WriteStartArray();
        foreach (float v in values) json.WriteNumberValue(v);
        json.WriteEndArray();
    }

    private static void WritePredictions(Utf8JsonWriter json, IReadOnlyList<ClassPrediction> predictions)
    {
        json.WriteStartArray();
        foreach (var p in predictions)
        {
            json.WriteStartObject();
            json.WriteString("label"u8, p.Label);
            json.WriteNumber("index"u8, p.Index);
            json.WriteNumber("probability"u8, p.Probability);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }
}
