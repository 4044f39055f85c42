using System.Text.Json;
using Tensorium.Models;

namespace Tensorium.Serving;

/// <summary>
/// Reads the <c>"inputs"</c> of a predict body against a model's <see cref="InputSpec"/>: nested
/// arrays of numbers, one example in the card's shape (leading 1s optional, or all values flat)
/// or a batch of them. Every refusal is a 400 <see cref="ProblemException"/> naming the position
/// and what was expected.
/// </summary>
public static class InputParser
{
    /// <summary>Parses <paramref name="body"/> (the whole JSON body) for <paramref name="card"/>.</summary>
    /// <exception cref="ProblemException">400: no inputs, a non-number, ragged arrays, a wrong shape or count, NaN/Inf, a value out of range, too many examples.</exception>
    public static ParsedInputs Parse(JsonElement body, ModelCard card, int maxExamples)
    {
        var spec = card.Input;
        string where = $"POST /v1/models/{card.Name}/predict";
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("inputs", out var inputs))
            throw ProblemException.BadInput($"{where}: expected a JSON object {{\"inputs\": [...]}} with one example of {Describe(spec)} or a batch of them; got {Kind(body)}{(body.ValueKind == JsonValueKind.Object ? " without \"inputs\"" : "")}.");
        if (inputs.ValueKind != JsonValueKind.Array)
            throw ProblemException.BadInput($"{where}: \"inputs\" is {Kind(inputs)}; expected an array of numbers (nested arrays for {Describe(spec)}).");

        var shape = ShapeOf(inputs, where, spec.Shape.Length + 2);
        var values = new float[shape.Aggregate(1L, (a, b) => a * b) is var total && total <= int.MaxValue ? (int)total : throw ProblemException.BadInput($"{where}: too many values.")];
        int written = 0;
        Flatten(inputs, shape, 0, new int[shape.Length], values, ref written, where);

        var (count, batched) = Match(shape, spec)
            ?? throw ProblemException.BadInput($"{where}: \"inputs\" has shape [{string.Join(", ", shape)}] ({values.Length} values); expected one example of {Describe(spec)} or a batch [N, ...] of them.");
        if (count > maxExamples)
            throw ProblemException.BadInput($"{where}: a batch of {count} examples; expected at most {maxExamples} per request (split it).");
        if (spec.Check(values) is var (index, reason))
        {
            int perExample = spec.ElementCount;
            string at = batched ? $"example {index / perExample}, value {index % perExample}" : $"value {index}";
            throw ProblemException.BadInput($"{where}: {at} {reason}.");
        }
        return new ParsedInputs(values, count, batched);
    }

    /// <summary>"[1, 28, 28] (or [28, 28], or 784 values)": the shapes one example may have.</summary>
    public static string Describe(InputSpec spec)
    {
        var core = Core(spec.Shape);
        var alternatives = new List<string>();
        if (core.Length != spec.Shape.Length) alternatives.Add($"[{string.Join(", ", core)}]");
        if (core.Length > 1) alternatives.Add($"{spec.ElementCount} values");
        return alternatives.Count == 0 ? spec.ShapeText : $"{spec.ShapeText} (or {string.Join(", or ", alternatives)})";
    }

    /// <summary>How many examples <paramref name="shape"/> holds and whether it is a batch; null when it fits neither.</summary>
    private static (int Count, bool Batched)? Match(int[] shape, InputSpec spec)
    {
        bool IsExample(ReadOnlySpan<int> s) =>
            s.SequenceEqual(spec.Shape) || s.SequenceEqual(Core(spec.Shape)) || (s.Length == 1 && s[0] == spec.ElementCount);
        if (IsExample(shape)) return (1, false);
        if (shape.Length >= 2 && IsExample(shape.AsSpan(1))) return (shape[0], true);
        return null;
    }

    /// <summary>The shape without its leading 1s ([1, 28, 28] to [28, 28]).</summary>
    private static int[] Core(int[] shape)
    {
        int skip = 0;
        while (skip < shape.Length - 1 && shape[skip] == 1) skip++;
        return shape[skip..];
    }

    /// <summary>The nested arrays' shape, read along the first elements (<see cref="Flatten"/> checks the rest).</summary>
    private static int[] ShapeOf(JsonElement inputs, string where, int maxRank)
    {
        var shape = new List<int>();
        var e = inputs;
        string path = "inputs";
        while (e.ValueKind == JsonValueKind.Array)
        {
            int length = e.GetArrayLength();
            if (length == 0) throw ProblemException.BadInput($"{where}: {path} is an empty array; expected numbers or arrays of them.");
            shape.Add(length);
            if (shape.Count > maxRank)
                throw ProblemException.BadInput($"{where}: \"inputs\" is nested more than {maxRank} deep; expected at most a batch of examples of {maxRank - 2} dimensions.");
            e = e[0];
            path += "[0]";
        }
        return [.. shape];
    }

    // Walks the arrays with the current position in `at` (one index per depth); the "inputs[2][5]"
    // text of a position is only built for an error, not for each of the thousands of values.
    private static void Flatten(JsonElement e, int[] shape, int depth, int[] at, float[] values, ref int written, string where)
    {
        if (depth == shape.Length)
        {
            if (e.ValueKind != JsonValueKind.Number)
                throw ProblemException.BadInput($"{where}: {Path(at, depth)} is {Kind(e)}; expected a number{(e.ValueKind == JsonValueKind.Array ? " (the arrays are not all equally deep)" : "")}{(e.ValueKind == JsonValueKind.String ? " (NaN and Infinity are not allowed)" : "")}.");
            float v = e.TryGetDouble(out double d) ? (float)d : float.NaN;
            if (!float.IsFinite(v))
                throw ProblemException.BadInput($"{where}: {Path(at, depth)} is {e.GetRawText()}, which is not a finite float32; expected a finite number.");
            values[written++] = v;
            return;
        }
        if (e.ValueKind != JsonValueKind.Array)
            throw ProblemException.BadInput($"{where}: {Path(at, depth)} is {Kind(e)}; expected an array of {shape[depth]} items like {Path(at, depth - 1)}[0].");
        int length = e.GetArrayLength();
        if (length != shape[depth])
            throw ProblemException.BadInput($"{where}: {Path(at, depth)} has {length} items; expected {shape[depth]} like the first array at its depth (arrays must be rectangular).");
        int i = 0;
        foreach (var item in e.EnumerateArray())
        {
            at[depth] = i++;
            Flatten(item, shape, depth + 1, at, values, ref written, where);
        }
    }

    /// <summary>"inputs[2][5]": the position given by the first <paramref name="depth"/> indices of <paramref name="at"/>.</summary>
    private static string Path(int[] at, int depth) => "inputs" + string.Concat(at.Take(depth).Select(i => $"[{i}]"));

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => $"the string {Truncate(e.GetRawText())}",
        JsonValueKind.Number => $"the number {e.GetRawText()}",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {e.GetRawText()}",
        _ => "null",
    };

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..37] + "...";
}
