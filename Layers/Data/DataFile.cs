using System.IO.Compression;

namespace Tensorium.Data;

/// <summary>Reading whole data files, transparently gunzipping them, with errors that name the reader and the file.</summary>
internal static class DataFile
{
    /// <summary>
    /// The file's bytes; a gzip file (detected by its magic 1f 8b, whatever its name) is
    /// decompressed first. I/O and gzip failures become <see cref="InvalidDataException"/>s naming
    /// <paramref name="reader"/> and the path.
    /// </summary>
    public static byte[] ReadAllBytes(string reader, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{reader}: file '{path}' does not exist.", path);
        var raw = File.ReadAllBytes(path);
        if (raw.Length < 2 || raw[0] != 0x1f || raw[1] != 0x8b) return raw;
        try
        {
            // The gzip trailer's last 4 bytes hold the uncompressed size (mod 2^32): decompress
            // straight into an array of that size instead of a growing MemoryStream plus a copy,
            // which for Fashion-MNIST left ~200 MB of garbage behind. Fall back if it is wrong.
            // The trailer is only read when the file is long enough to have one (18 bytes: a
            // 10-byte header and the 8-byte trailer), and only trusted up to what deflate can
            // expand this file to (at most 1032:1) and an array can hold: a corrupt trailer must
            // not make us allocate gigabytes, or fail with an OutOfMemoryException.
            int expected = raw.Length >= 18 ? BitConverter.ToInt32(raw, raw.Length - 4) : 0;
            if (expected > 0 && expected <= Math.Min(Array.MaxLength, 1032L * raw.Length))
            {
                var result = new byte[expected];
                using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
                try
                {
                    gzip.ReadExactly(result);
                    if (gzip.ReadByte() < 0) return result;   // exactly the announced size
                }
                catch (EndOfStreamException)
                {
                    // Shorter than announced: the general path below decides what it holds.
                }
            }
            using var stream = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var output = new MemoryStream();
            stream.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{reader}: '{path}' starts like a gzip file (1f 8b) but cannot be decompressed: {e.Message}", e);
        }
    }
}
