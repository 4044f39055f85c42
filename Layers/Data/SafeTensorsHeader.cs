using System.Buffers.Binary;
using System.Text.Json;

namespace Tensorium.Data;

/// <summary>One tensor's header entry: where its bytes lie, relative to the start of the data.</summary>
internal sealed record SafeTensorsEntry(string Name, SafeTensorsDType DType, int[] Shape, long Begin, long End);

/// <summary>
/// A parsed and fully validated safetensors header. Everything a loader could trip over is
/// checked here, before any tensor exists: the length field, the JSON, every entry's dtype and
/// shape, byte counts, and that the offsets tile the data exactly (contiguous, no overlap, no
/// gap, nothing missing or left over), as the reference implementation requires.
/// </summary>
internal sealed class SafeTensorsHeader
{
    private SafeTensorsHeader(List<SafeTensorsEntry> entries, Dictionary<string, string> metadata, long dataStart)
    {
        Entries = entries;
        Metadata = metadata;
        DataStart = dataStart;
    }

    /// <summary>The tensors, sorted by where their data begins.</summary>
    public IReadOnlyList<SafeTensorsEntry> Entries { get; }

    /// <summary>The "__metadata__" strings.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>File position where the data begins (8 + header length).</summary>
    public long DataStart { get; }

    /// <summary>Reads and checks the header of the file open in <paramref name="stream"/>.</summary>
    public static SafeTensorsHeader Read(Stream stream, string path)
    {
        string where = $"SafeTensors '{path}'";
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw new InvalidDataException($"{where}: the file is {fileLength} bytes, too short for the 8-byte header length.");
        Span<byte> lengthField = stackalloc byte[8];
        stream.Position = 0;
        stream.ReadExactly(lengthField);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthField);
        if (headerLength > (ulong)(fileLength - 8))
            throw new InvalidDataException($"{where}: the header length field says {headerLength} bytes, but only {fileLength - 8} bytes follow it (file is {fileLength} bytes); the file is truncated or not safetensors.");
        if (headerLength > SafeTensors.MaxHeaderBytes)
            throw new InvalidDataException($"{where}: the header length {headerLength} exceeds the limit of {SafeTensors.MaxHeaderBytes} bytes.");
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(headerBytes);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{where}: the header is not well-formed JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{where}: the header should be a JSON object, got a {document.RootElement.ValueKind}.");
            long dataLength = fileLength - 8 - (long)headerLength;
            List<SafeTensorsEntry> entries;
            Dictionary<string, string> metadata;
            try
            {
                (entries, metadata) = ParseEntries(document.RootElement, where);
            }
            catch (InvalidOperationException e)
            {
                // The parser accepts bytes that are not UTF-8 and escapes of lone surrogates
                // ("\ud800") inside strings; reading such a string as text throws this.
                throw new InvalidDataException($"{where}: the header holds a string that is not valid UTF-8 or Unicode: {e.Message}", e);
            }
            CheckTiling(entries, dataLength, where);
            return new SafeTensorsHeader(entries, metadata, 8 + (long)headerLength);
        }
    }

    private static (List<SafeTensorsEntry>, Dictionary<string, string>) ParseEntries(JsonElement root, string where)
    {
        var entries = new List<SafeTensorsEntry>();
        var metadata = new Dictionary<string, string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            // JSON allows repeated keys and JsonDocument keeps both; a file with two "w" is ambiguous.
            if (!seen.Add(property.Name))
                throw new InvalidDataException($"{where}: the header names '{property.Name}' twice.");
            if (property.Name == SafeTensors.MetadataKey)
            {
                if (property.Value.ValueKind != JsonValueKind.Object)
                    throw new InvalidDataException($"{where}: {SafeTensors.MetadataKey} should be an object of strings, got a {property.Value.ValueKind}.");
                foreach (var item in property.Value.EnumerateObject())
                    metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String ? item.Value.GetString()!
                        : throw new InvalidDataException($"{where}: metadata '{item.Name}' should be a string, got a {item.Value.ValueKind}.");
                continue;
            }
            entries.Add(ParseEntry(property.Name, property.Value, $"{where}: tensor '{property.Name}'"));
        }
        return (entries, metadata);
    }

    private static SafeTensorsEntry ParseEntry(string name, JsonElement value, string where)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{where}: expected an object with dtype, shape and data_offsets, got a {value.ValueKind}.");
        var dtypeCode = Field(value, "dtype", JsonValueKind.String, where).GetString();
        if (!SafeTensorsDTypeInfo.TryParse(dtypeCode, out var dtype))
            throw new InvalidDataException($"{where}: dtype '{dtypeCode}' is not supported (expected F16, BF16, F32, F64, I32 or I64).");
        var shape = Field(value, "shape", JsonValueKind.Array, where).EnumerateArray()
            .Select(d => d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out int v) && v >= 0 ? v
                : throw new InvalidDataException($"{where}: shape entries must be non-negative integers, got {d.GetRawText()}."))
            .ToArray();
        var offsets = Field(value, "data_offsets", JsonValueKind.Array, where).EnumerateArray()
            .Select(o => o.ValueKind == JsonValueKind.Number && o.TryGetInt64(out long v) && v >= 0 ? v
                : throw new InvalidDataException($"{where}: data_offsets must be non-negative integers, got {o.GetRawText()}."))
            .ToArray();
        if (offsets.Length != 2)
            throw new InvalidDataException($"{where}: data_offsets should be [begin, end], got {offsets.Length} numbers.");
        if (offsets[1] < offsets[0])
            throw new InvalidDataException($"{where}: data_offsets [{offsets[0]}, {offsets[1]}] end before they begin.");

        long count = 1;
        foreach (var d in shape)
        {
            count *= d;
            if (count > Array.MaxLength)
                throw new InvalidDataException($"{where}: shape [{string.Join(", ", shape)}] has more elements than a tensor can hold.");
        }
        long expectedBytes = count * dtype.SizeInBytes();
        if (offsets[1] - offsets[0] != expectedBytes)
            throw new InvalidDataException($"{where}: {dtypeCode} shape [{string.Join(", ", shape)}] needs {expectedBytes} bytes, but data_offsets [{offsets[0]}, {offsets[1]}] span {offsets[1] - offsets[0]}.");
        return new SafeTensorsEntry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static JsonElement Field(JsonElement entry, string name, JsonValueKind kind, string where)
    {
        if (!entry.TryGetProperty(name, out var field))
            throw new InvalidDataException($"{where}: the entry has no \"{name}\".");
        if (field.ValueKind != kind)
            throw new InvalidDataException($"{where}: \"{name}\" should be a JSON {kind}, got {field.GetRawText()}.");
        return field;
    }

    /// <summary>Sorts entries by offset and checks they cover [0, dataLength) exactly once.</summary>
    private static void CheckTiling(List<SafeTensorsEntry> entries, long dataLength, string where)
    {
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long position = 0;
        SafeTensorsEntry? previous = null;
        foreach (var e in entries)
        {
            if (e.Begin < position)
                throw new InvalidDataException($"{where}: tensor '{e.Name}' at [{e.Begin}, {e.End}) overlaps tensor '{previous!.Name}' at [{previous.Begin}, {previous.End}).");
            if (e.Begin > position)
                throw new InvalidDataException($"{where}: tensor '{e.Name}' begins at data offset {e.Begin}, but the data before it ends at {position}; tensors must be contiguous (a gap of {e.Begin - position} bytes).");
            position = e.End;
            previous = e;
        }
        if (position > dataLength)
            throw new InvalidDataException($"{where}: the data is truncated: the header places tensor '{previous!.Name}' at [{previous.Begin}, {previous.End}), but the file holds only {dataLength} data bytes.");
        if (position < dataLength)
            throw new InvalidDataException($"{where}: the file has {dataLength - position} bytes after the last tensor's data (the header accounts for {position} of {dataLength} data bytes).");
    }
}
