using System.Security.Cryptography;
using System.Text;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Compiled GPU programs on disk (PTX for CUDA, the driver's program binary for OpenCL), so a
/// process does not recompile kernels another process already compiled. One file per program,
/// named by a SHA-256 <see cref="Key"/> of everything the compiled result depends on. Each file
/// carries a checksum of its payload; writes go to a temporary file that is then moved over
/// the entry, so a reader never sees half a file. The cache is an optimisation only: an entry
/// that is missing, unreadable, corrupt or rejected by the driver is ignored and rebuilt, and a
/// directory that cannot be written just means nothing is cached.
/// </summary>
public sealed class ProgramCache
{
    /// <summary>The environment variable that moves the cache ("off" disables it).</summary>
    public const string EnvironmentVariable = "TENSORIUM_KERNEL_CACHE";

    private static readonly byte[] Magic = "TSKC1\n"u8.ToArray();
    private const int HashBytes = 32;
    private static readonly Lazy<ProgramCache> Shared = new(() => new ProgramCache(DefaultDirectory));
    private long _reads, _writes, _discarded;

    /// <summary>A cache in <paramref name="directory"/> (created on first write); null disables caching.</summary>
    public ProgramCache(string? directory) => Directory = string.IsNullOrWhiteSpace(directory) ? null : Path.GetFullPath(directory);

    /// <summary>
    /// The process-wide cache the runtimes use unless given another: $TENSORIUM_KERNEL_CACHE, else
    /// ~/.cache/tensorium/kernels (under $XDG_CACHE_HOME when set).
    /// </summary>
    public static ProgramCache Default => Shared.Value;

    /// <summary>Where <see cref="Default"/> lives; null when TENSORIUM_KERNEL_CACHE is "off" or no home directory is known.</summary>
    public static string? DefaultDirectory
    {
        get
        {
            string? chosen = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(chosen))
                return chosen.Trim().Equals("off", StringComparison.OrdinalIgnoreCase) ? null : chosen;
            string? root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (string.IsNullOrWhiteSpace(root))
            {
                string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
                if (string.IsNullOrEmpty(home)) return null;
                root = Path.Combine(home, ".cache");
            }
            return Path.Combine(root, "tensorium", "kernels");
        }
    }

    /// <summary>The cache directory, or null when caching is off.</summary>
    public string? Directory { get; }

    /// <summary>Entries read back intact (cache hits).</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>Entries written.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Entries thrown away: unreadable, failing their checksum, or rejected by the driver (<see cref="Discard"/>).</summary>
    public long Discarded => Interlocked.Read(ref _discarded);

    /// <summary>
    /// The cache key of a program: the SHA-256 (hex) of the composed source, the defines, the
    /// device name, the driver version, the dialect and anything else the result depends on
    /// (<paramref name="extra"/>: compiler options, compiler version, target architecture).
    /// </summary>
    public static string Key(string source, IEnumerable<string> defines, string deviceName, string driver, KernelDialect dialect, string extra = "")
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string field)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(field);
            Span<byte> length = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
            hash.AppendData(length);   // length-prefixed: no two field lists hash the same bytes
            hash.AppendData(bytes);
        }
        Add("tensorium program cache 1");
        Add(source);
        Add(string.Join('\n', defines));
        Add(deviceName);
        Add(driver);
        Add(dialect.ToString());
        Add(extra);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The file an entry lives in (whether or not it exists); null when caching is off.</summary>
    public string? PathOf(string key) => Directory == null ? null : Path.Combine(Directory, key + ".bin");

    /// <summary>The payload stored under <paramref name="key"/>, or null when there is none or it is damaged (then it is deleted).</summary>
    public byte[]? TryRead(string key)
    {
        string? path = PathOf(key);
        if (path == null) return null;
        byte[] file;
        try
        {
            if (!File.Exists(path)) return null;
            file = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Interlocked.Increment(ref _discarded);
            return null;
        }
        int header = Magic.Length + HashBytes;
        if (file.Length <= header || !file.AsSpan(0, Magic.Length).SequenceEqual(Magic)
            || !SHA256.HashData(file.AsSpan(header)).AsSpan().SequenceEqual(file.AsSpan(Magic.Length, HashBytes)))
        {
            Discard(key);
            return null;
        }
        Interlocked.Increment(ref _reads);
        return file[header..];
    }

    /// <summary>Stores <paramref name="payload"/> under <paramref name="key"/> atomically; failures to write are ignored.</summary>
    public void Write(string key, ReadOnlySpan<byte> payload)
    {
        string? path = PathOf(key);
        if (path == null || payload.IsEmpty) return;
        string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            System.IO.Directory.CreateDirectory(Directory!);
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(Magic);
                stream.Write(SHA256.HashData(payload));
                stream.Write(payload);
            }
            File.Move(temp, path, overwrite: true);
            Interlocked.Increment(ref _writes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temp); } catch (Exception f) when (f is IOException or UnauthorizedAccessException) { }
        }
    }

    /// <summary>Deletes the entry under <paramref name="key"/>: for a payload the driver rejected (a driver update, say).</summary>
    public void Discard(string key)
    {
        Interlocked.Increment(ref _discarded);
        string? path = PathOf(key);
        if (path == null) return;
        try { File.Delete(path); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
