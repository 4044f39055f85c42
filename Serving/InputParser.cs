using System.Text;
using System.Text.Json;
using Tensorium.Models;

namespace Tensorium.Serving;

/// <summary>
/// Reads the <c>"inputs"</c> of a predict body against a model's <see cref="InputSpec"/>: nested
/// arrays of numbers, one example in the card's shape (leading 1s optional, or all values flat)
/// or a batch of them. Every refusal is a 400 <see cref="ProblemException"/> naming the position
/// and what was expected.
/// </summary>
/// <remarks>
/// The body is read once, token by token (<see cref="Utf8JsonReader"/>), straight into the float
/// array the batcher takes: no document tree of its thousands of numbers is built. The common
/// body of one flat example is read straight from the bytes first, without the tokenizer. The shape is
/// learnt from the first array at each depth (the first one to close); every later array must
/// match it.
/// </remarks>
public static class InputParser
{
    /// <summary>Parses <paramref name="body"/> (the whole UTF-8 JSON body) for <paramref name="card"/>.</summary>
    /// <exception cref="ProblemException">400: not JSON, no inputs, a non-number, ragged arrays, a wrong shape or count, NaN/Inf, a value out of range, too many examples.</exception>
    public static ParsedInputs Parse(ReadOnlySpan<byte> body, ModelCard card, int maxExamples)
    {
        string where = $"POST /v1/models/{card.Name}/predict";
        // A UTF-8 byte order mark (some Windows tools write one) is not JSON, but says nothing either: skip it as JsonDocument does.
        if (body.StartsWith(Encoding.UTF8.Preamble)) body = body[Encoding.UTF8.Preamble.Length..];
        try
        {
            return ParseJson(body, card, maxExamples, where);
        }
        catch (JsonException e)
        {
            throw ProblemException.BadInput($"{where}: the body is not valid JSON ({e.Message}); expected {{\"inputs\": [...]}} with one example of {Describe(card.Input)} or a batch of them.");
        }
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

    private static ParsedInputs ParseJson(ReadOnlySpan<byte> body, ModelCard card, int maxExamples, string where)
    {
        var spec = card.Input;
        if (ReadFlatExample(body, spec.ElementCount) is { } flat && spec.Check(flat) == null) return new ParsedInputs(flat, 1, false);
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 32 });
        reader.Read();   // an empty body throws: it holds no JSON
        if (reader.TokenType != JsonTokenType.StartObject)
            throw ProblemException.BadInput($"{where}: expected a JSON object {{\"inputs\": [...]}} with one example of {Describe(spec)} or a batch of them; got {Kind(ref reader)}.");
        (float[] Values, int[] Shape)? inputs = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (inputs == null && IsInputs(ref reader, where))
            {
                reader.Read();
                inputs = ReadInputs(ref reader, spec, where);
            }
            else reader.Skip();   // other properties are ignored
        }
        reader.Read();   // anything after the object throws: not one JSON value
        var (values, shape) = inputs
            ?? throw ProblemException.BadInput($"{where}: expected a JSON object {{\"inputs\": [...]}} with one example of {Describe(spec)} or a batch of them; got an object without \"inputs\".");

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

    /// <summary>Whether the property name the reader is on is "inputs".</summary>
    private static bool IsInputs(ref Utf8JsonReader reader, string where)
    {
        try
        {
            return reader.ValueTextEquals("inputs"u8);
        }
        catch (InvalidOperationException)
        {
            // The reader accepts a name with a lone surrogate escape ("\ud800") but throws when it
            // unescapes it to compare: that was a 500.
            throw ProblemException.BadInput($"{where}: a property name is not valid Unicode text (it has a lone surrogate escape such as \\ud800); expected {{\"inputs\": [...]}}.");
        }
    }

    /// <summary>
    /// Reads the nested arrays of numbers the reader is on into one flat array, with their shape.
    /// <c>items[d]</c> counts the items read so far in the open array at depth d (the inputs array
    /// is depth 0), so items[0..d] minus one is the position of the item being read.
    /// </summary>
    private static (float[] Values, int[] Shape) ReadInputs(ref Utf8JsonReader reader, InputSpec spec, string where)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw ProblemException.BadInput($"{where}: \"inputs\" is {Kind(ref reader)}; expected an array of numbers (nested arrays for {Describe(spec)}).");
        int maxRank = spec.Shape.Length + 2;   // a batch of examples with leading 1s
        var shape = new int[maxRank];          // 0 until the first array at that depth has closed
        var items = new int[maxRank];
        int rank = 0;                          // 0 until the first number: how deep the numbers are
        int depth = 0;
        var values = new float[spec.ElementCount];
        int written = 0;
        while (true)
        {
            reader.Read();
            var token = reader.TokenType;
            if (token == JsonTokenType.EndArray)
            {
                int length = items[depth];
                if (rank == 0)
                    throw ProblemException.BadInput($"{where}: {Path(items, depth)} is an empty array; expected numbers or arrays of them.");
                if (shape[depth] == 0) shape[depth] = length;
                else if (length != shape[depth]) throw Ragged(items, depth, length, shape[depth], where);
                if (depth-- == 0) break;
                continue;
            }

            // An item of the array at `depth`, at position items[0..depth] - 1.
            if (++items[depth] > shape[depth] && shape[depth] != 0)
                throw Ragged(items, depth, CountToEnd(ref reader, items[depth]), shape[depth], where);
            if (rank == 0 && token != JsonTokenType.StartArray) rank = depth + 1;
            bool number = rank != 0 && depth == rank - 1;   // this depth holds numbers
            if (token == JsonTokenType.StartArray)
            {
                if (number)
                    throw ProblemException.BadInput($"{where}: {Path(items, depth + 1)} is an array; expected a number (the arrays are not all equally deep).");
                if (depth + 1 == maxRank)
                    throw ProblemException.BadInput($"{where}: \"inputs\" is nested more than {maxRank} deep; expected at most a batch of examples of {maxRank - 2} dimensions.");
                items[++depth] = 0;
                continue;
            }
            if (!number)
                throw ProblemException.BadInput($"{where}: {Path(items, depth + 1)} is {Kind(ref reader)}; expected an array of {shape[depth + 1]} items like {Path(items, depth)}[0].");
            if (token != JsonTokenType.Number)
                throw ProblemException.BadInput($"{where}: {Path(items, depth + 1)} is {Kind(ref reader)}; expected a number{(token == JsonTokenType.String ? " (NaN and Infinity are not allowed)" : "")}.");
            float v = JsonNumber.TryParse(reader.ValueSpan, out double d) || reader.TryGetDouble(out d) ? (float)d : float.NaN;
            if (!float.IsFinite(v))
                throw ProblemException.BadInput($"{where}: {Path(items, depth + 1)} is {Truncate(Encoding.UTF8.GetString(reader.ValueSpan))}, which is not a finite float32; expected a finite number.");
            if (written == values.Length) Array.Resize(ref values, 2 * values.Length);
            values[written++] = v;
        }
        if (written != values.Length) Array.Resize(ref values, written);
        return (values, shape[..rank]);
    }

    /// <summary>
    /// The body most clients send, <c>{"inputs": [v, v, ...]}</c> with one example's
    /// <paramref name="count"/> values flat, read straight from the bytes (several times quicker
    /// than token by token); null for any other body, which the reader then reads, or refuses
    /// with the reason. Only what is valid JSON and finite is taken here.
    /// </summary>
    private static float[]? ReadFlatExample(ReadOnlySpan<byte> body, int count)
    {
        int i = 0;
        if (!Expect(body, ref i, "{"u8) || !Expect(body, ref i, "\"inputs\""u8) || !Expect(body, ref i, ":"u8) || !Expect(body, ref i, "["u8)) return null;
        var values = new float[count];
        for (int n = 0; n < count; n++)
        {
            if (n > 0 && !Expect(body, ref i, ","u8)) return null;
            SkipWhitespace(body, ref i);
            if (!JsonNumber.TryParsePrefix(body[i..], out double d, out int length) || !float.IsFinite((float)d)) return null;
            values[n] = (float)d;
            i += length;
            // Only a separator may follow a number: "1.5.3" or "2x" are not JSON.
            if (i < body.Length && body[i] is not ((byte)',' or (byte)']' or (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')) return null;
        }
        if (!Expect(body, ref i, "]"u8) || !Expect(body, ref i, "}"u8)) return null;
        SkipWhitespace(body, ref i);
        return i == body.Length ? values : null;
    }

    /// <summary>Skips JSON whitespace, then <paramref name="literal"/>: false when something else comes.</summary>
    private static bool Expect(ReadOnlySpan<byte> body, ref int i, ReadOnlySpan<byte> literal)
    {
        SkipWhitespace(body, ref i);
        if (!body[i..].StartsWith(literal)) return false;
        i += literal.Length;
        return true;
    }

    private static void SkipWhitespace(ReadOnlySpan<byte> body, ref int i)
    {
        while (i < body.Length && body[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r') i++;
    }

    /// <summary>The items of the array being read, counting from the current one (the <paramref name="counted"/>-th) to its end.</summary>
    private static int CountToEnd(ref Utf8JsonReader reader, int counted)
    {
        reader.Skip();   // past the current item when it is an array or object
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            counted++;
            reader.Skip();
        }
        return counted;
    }

    private static ProblemException Ragged(int[] items, int depth, int length, int expected, string where) =>
        ProblemException.BadInput($"{where}: {Path(items, depth)} has {length} items; expected {expected} like the first array at its depth (arrays must be rectangular).");

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

    /// <summary>"inputs[2][5]": the position of the array at <paramref name="depth"/> (the item being read at depth - 1), built only for an error.</summary>
    private static string Path(int[] items, int depth) => "inputs" + string.Concat(items.Take(depth).Select(i => $"[{i - 1}]"));

    /// <summary>What the reader is on, for an error: "the string \"NaN\"", "an object", ...</summary>
    private static string Kind(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => $"the string {Truncate($"\"{Encoding.UTF8.GetString(reader.ValueSpan)}\"")}",
        JsonTokenType.Number => $"the number {Truncate(Encoding.UTF8.GetString(reader.ValueSpan))}",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.True or JsonTokenType.False => $"the boolean {(reader.TokenType == JsonTokenType.True ? "true" : "false")}",
        _ => "null",
    };

    /// <summary>A received string or number as an error quotes it: cut at 40 characters, so a body of one huge token is not echoed whole.</summary>
    internal static string Truncate(string s) => s.Length <= 40 ? s : s[..37] + "...";
}
