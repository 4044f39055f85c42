using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Tensorium.Data;

/// <summary>
/// Reads and writes the safetensors format (Hugging Face), so checkpoints move between
/// Tensorium and PyTorch (<c>safetensors.torch.load_file</c> / <c>save_file</c>). A file is:
/// <list type="number">
/// <item>8 bytes: N, the header length, an unsigned little-endian integer;</item>
/// <item>N bytes: a UTF-8 JSON object mapping each tensor name to
/// <c>{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}</c>, plus an optional
/// <c>"__metadata__"</c> object of string to string; it may be padded with spaces (we pad to a
/// multiple of 8 so the data is aligned);</item>
/// <item>the data: each tensor's elements in row-major order, little-endian, at
/// [begin, end) counted from the end of the header, packed with no gaps or overlaps.</item>
/// </list>
/// Supported dtypes: F32, F64, I32, I64 (the engine's four types), and F16 and BF16, in which
/// most published checkpoints come: they load as float32 (or float64 when asked) and floating
/// tensors can be saved in them (<see cref="SafeTensorsDType"/>).
/// </summary>
public static class SafeTensors
{
    /// <summary>The largest header we accept (the reference implementation's limit too): a guard against a garbage length field.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>The header key reserved for free-form string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>
    /// Writes <paramref name="tensors"/> (any device, any layout) and optional string
    /// <paramref name="metadata"/> to <paramref name="path"/>. The file is written under a
    /// temporary name and renamed over <paramref name="path"/> only when complete, so a failed
    /// save leaves any existing file untouched.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="floatsAs"/> is not a floating type, or a name or tensor is unusable.</exception>
    /// <exception cref="NotSupportedException">A tensor would take more than <see cref="Array.MaxLength"/> bytes in the file.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist.</exception>
    /// <exception cref="IOException">
    /// The file cannot be created there or put in place (an unwritable folder, a folder by that
    /// name); the message names <paramref name="path"/>, the file system's error is the inner exception.
    /// </exception>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null, SafeTensorsDType? floatsAs = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        RequireLittleEndian();
        if (floatsAs is { } asked && !asked.IsFloating())
            throw new ArgumentException($"SafeTensors.Save '{path}': floatsAs is {asked}, expected a floating type (F16, BF16, F32 or F64); nothing was written.", nameof(floatsAs));
        // Check everything before creating a file: names, live tensors, metadata.
        foreach (var (name, tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name) || name == MetadataKey)
                throw new ArgumentException($"SafeTensors.Save '{path}': '{name}' cannot be a tensor name (empty, or the reserved {MetadataKey}); nothing was written.");
            if (tensor == null || tensor.IsDisposed)
                throw new ArgumentException($"SafeTensors.Save '{path}': tensor '{name}' is {(tensor == null ? "null" : "disposed")}; nothing was written.");
            RequireWellFormed(path, "tensor name", name);
        }
        if (metadata != null)
            foreach (var (key, value) in metadata)
            {
                if (value == null)
                    throw new ArgumentException($"SafeTensors.Save '{path}': metadata '{key}' is null (values must be strings); nothing was written.");
                RequireWellFormed(path, "metadata key", key);
                RequireWellFormed(path, $"metadata '{key}'", value);
            }

        // Sorted names make the file a pure function of its contents.
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToArray();
        var fileTypes = names.ToDictionary(n => n, n => FileType(tensors[n].DType, floatsAs));
        // Each tensor is written from one host array, as Load reads it into one: at most
        // Array.MaxLength bytes (else an OverflowException midway through the write).
        if (names.FirstOrDefault(n => (long)tensors[n].Count * fileTypes[n].SizeInBytes() > Array.MaxLength) is { } tooBig)
            throw new NotSupportedException(
                $"SafeTensors.Save '{path}': tensor '{tooBig}' ({fileTypes[tooBig]} {Layout.Format(tensors[tooBig].Layout.Shape)}) is {(long)tensors[tooBig].Count * fileTypes[tooBig].SizeInBytes()} bytes; " +
                $"a tensor of at most {Array.MaxLength} bytes can be saved. Nothing was written.");
        var header = BuildHeader(names, tensors, fileTypes, metadata);
        AtomicFile.Write(path, "SafeTensors.Save", stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var name in names) SafeTensorsEncoding.Write(stream, tensors[name], fileTypes[name]);
        });
    }

    /// <summary>
    /// Reads every tensor in <paramref name="path"/> onto the CPU. The whole header is checked
    /// before any tensor is created; a malformed file raises an <see cref="InvalidDataException"/>
    /// naming the file and the problem. F16 and BF16 tensors become <paramref name="halfAs"/>
    /// (float32 or float64; exact either way); the others keep their type (<see cref="ReadDTypes"/>
    /// tells what the file holds). The caller owns (disposes) the tensors.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path, DType halfAs = DType.Float32)
    {
        ArgumentNullException.ThrowIfNull(path);
        RequireLittleEndian();
        if (!halfAs.IsFloating())
            throw new ArgumentException($"SafeTensors.Load '{path}': halfAs is {halfAs.Name()}, expected float32 or float64 (what F16 and BF16 tensors become).", nameof(halfAs));
        using var stream = OpenRead(path);
        var header = SafeTensorsHeader.Read(stream, path);
        // A tensor is read through one host byte array, so it can be at most Array.MaxLength
        // bytes; a valid file may hold a bigger one (600M floats). Say so before making any tensor,
        // rather than fail allocating the array with an OverflowException.
        if (header.Entries.FirstOrDefault(e => e.End - e.Begin > Array.MaxLength) is { } tooBig)
            throw new NotSupportedException(
                $"SafeTensors.Load '{path}': tensor '{tooBig.Name}' ({tooBig.DType} [{string.Join(", ", tooBig.Shape)}]) is {tooBig.End - tooBig.Begin} bytes; " +
                $"a tensor of at most {Array.MaxLength} bytes can be loaded. Nothing was loaded.");
        var result = new Dictionary<string, Tensor>(header.Entries.Count);
        try
        {
            foreach (var entry in header.Entries)   // in file order, so we read straight through
            {
                var bytes = new byte[entry.End - entry.Begin];
                stream.Position = header.DataStart + entry.Begin;
                try
                {
                    stream.ReadExactly(bytes);
                }
                catch (EndOfStreamException e)
                {
                    throw new InvalidDataException($"SafeTensors '{path}': the file ended while reading tensor '{entry.Name}' (did it change while loading?).", e);
                }
                result.Add(entry.Name, SafeTensorsEncoding.Decode(bytes, entry.DType, entry.Shape, halfAs));
            }
            return result;
        }
        catch
        {
            // No half-loaded dictionaries: release what was made so far.
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>The "__metadata__" strings of <paramref name="path"/> (empty when it has none), checking the header as <see cref="Load"/> does.</summary>
    public static Dictionary<string, string> ReadMetadata(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = OpenRead(path);
        return new Dictionary<string, string>(SafeTensorsHeader.Read(stream, path).Metadata);
    }

    /// <summary>
    /// The element type each tensor of <paramref name="path"/> is stored as ("w" to BF16, ...),
    /// checking the header as <see cref="Load"/> does: to save a model back as it came.
    /// </summary>
    public static Dictionary<string, SafeTensorsDType> ReadDTypes(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = OpenRead(path);
        return SafeTensorsHeader.Read(stream, path).Entries.ToDictionary(e => e.Name, e => e.DType);
    }

    /// <summary>The safetensors name of a dtype ("F32", ...).</summary>
    public static string DTypeCode(DType dtype) => SafeTensorsDTypeInfo.Of(dtype).ToString();

    /// <summary>What a tensor of <paramref name="dtype"/> is stored as: <paramref name="floatsAs"/> for floating tensors when given.</summary>
    private static SafeTensorsDType FileType(DType dtype, SafeTensorsDType? floatsAs) =>
        dtype.IsFloating() && floatsAs is { } asked ? asked : SafeTensorsDTypeInfo.Of(dtype);

    /// <summary>The JSON header, padded with spaces to a multiple of 8 bytes.</summary>
    private static byte[] BuildHeader(string[] names, IReadOnlyDictionary<string, Tensor> tensors, Dictionary<string, SafeTensorsDType> fileTypes, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping keeps names like "layer+1" readable; the JSON is not embedded in HTML.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal)) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var name in names)
            {
                var t = tensors[name];
                long bytes = (long)t.Count * fileTypes[name].SizeInBytes();
                json.WriteStartObject(name);
                json.WriteString("dtype", fileTypes[name].ToString());
                json.WriteStartArray("shape");
                foreach (var d in t.Layout.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        int padded = (int)(buffer.Length + 7) / 8 * 8;
        while (buffer.Length < padded) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    /// <summary>
    /// Refuses a string with an unpaired UTF-16 surrogate: the JSON writer would escape it as
    /// "\ud800", which no conforming reader (PyTorch's safetensors, or ours) turns back into a string.
    /// </summary>
    private static void RequireWellFormed(string path, string what, string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(text[i]))
                throw new ArgumentException($"SafeTensors.Save '{path}': {what} has an unpaired UTF-16 surrogate U+{(int)text[i]:X4} at position {i} (after \"{text[..i]}\"); expected valid Unicode text. Nothing was written.");
        }
    }

    private static FileStream OpenRead(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"SafeTensors: file '{path}' does not exist.", path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
    }

    /// <summary>The format is little-endian and we copy memory as is, which is only right on a little-endian CPU.</summary>
    private static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("SafeTensors: this machine is big-endian; only little-endian machines are supported.");
    }
}
