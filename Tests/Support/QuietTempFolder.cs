namespace Tensorium.Tests.Support;

/// <summary>
/// A new folder under the temp directory, with <see cref="Console.Out"/> silenced, for tests that
/// run an example's output code (<c>using var folder = QuietTempFolder.Create("runs");</c>); on
/// Dispose the console comes back and the folder is deleted.
/// </summary>
public sealed class QuietTempFolder : IDisposable
{
    private readonly TextWriter _console = Console.Out;

    private QuietTempFolder(string prefix)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"tensorium-{prefix}-{Guid.NewGuid():N}");
        Console.SetOut(TextWriter.Null);
    }

    /// <summary>The folder's path (not created: the code under test makes it).</summary>
    public string Path { get; }

    /// <summary>A folder named tensorium-<paramref name="prefix"/>-GUID, the console silenced until Dispose.</summary>
    public static QuietTempFolder Create(string prefix) => new(prefix);

    /// <summary>Restores the console and deletes the folder and everything in it.</summary>
    public void Dispose()
    {
        Console.SetOut(_console);
        if (Directory.Exists(Path)) Directory.Delete(Path, true);
    }
}
