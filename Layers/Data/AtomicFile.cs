namespace Tensorium.Data;

/// <summary>
/// Writes a file all or nothing: the content goes to a temporary file in the same folder, which
/// is renamed over the target only once complete. A crash or an exception midway leaves the old
/// file (if any) as it was and no temporary file behind.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Runs <paramref name="write"/> on a temporary file, then moves it to <paramref name="path"/>.</summary>
    /// <exception cref="IOException">Creating or renaming the temporary file failed; the message names <paramref name="path"/>.</exception>
    public static void Write(string path, string writer, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"{writer}: cannot write '{path}': folder '{folder}' does not exist.");
        // Same folder, so the final rename stays on one file system and is atomic. The target's
        // name is cut to 64 characters in it: with the 38 added the temporary name stays within
        // the 255 a file name may have, whatever the length of a target name that fits.
        var name = Path.GetFileName(full);
        var temp = Path.Combine(folder, $".{name[..Math.Min(name.Length, 64)]}.{Guid.NewGuid():N}.tmp");
        // The file system's own errors name the temporary file, which the caller never chose:
        // they are rethrown naming the target and the step that failed, the original inside.
        FileStream stream;
        try { stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure(writer, path, $"could not create a file in folder '{folder}'", e);
        }
        try
        {
            using (stream)
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            try { File.Move(temp, full, overwrite: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Failure(writer, path, "could not replace it with the finished file", e);
            }
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    private static IOException Failure(string writer, string path, string what, Exception inner) =>
        new($"{writer}: cannot write '{path}': {what} ({inner.GetType().Name}; see the inner exception).", inner);
}
