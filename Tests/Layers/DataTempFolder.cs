namespace Tensorium.Tests.Data;

/// <summary>A fresh folder under the system temp directory, deleted with everything in it on Dispose.</summary>
public sealed class DataTempFolder : IDisposable
{
    /// <summary>Creates the folder.</summary>
    public DataTempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "tensorium-data-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>The full path of <paramref name="name"/> inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Deletes the folder.</summary>
    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
