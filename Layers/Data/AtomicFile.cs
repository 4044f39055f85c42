namespace Tensorium.Data;

/// <summary>
/// Writes a file all or nothing: the content goes to a temporary file in the same folder, which
/// is renamed over the target only once complete. A crash or an exception midway leaves the old
/// file (if any) as it was and no temporary file behind.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Runs <paramref name="write"/> on a temporary file, then moves it to <paramref name="path"/>.</summary>
    public static void Write(string path, string writer, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"{writer}: cannot write '{path}': folder '{folder}' does not exist.");
        // Same folder, so the final rename stays on one file system and is atomic.
        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
