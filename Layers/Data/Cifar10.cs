namespace Tensorium.Data;

/// <summary>
/// Reader for the binary version of CIFAR-10: 50,000 training and 10,000 test colour 32x32
/// images in 10 classes. Each file (data_batch_1.bin .. data_batch_5.bin, test_batch.bin) is a
/// run of 3073-byte records: one label byte, then 3072 pixel bytes in CHW order (the 1024 red
/// values, then green, then blue, each row by row).
/// </summary>
public static class Cifar10
{
    /// <summary>Pixel bytes per image: 3 channels x 32 x 32.</summary>
    public const int ImageBytes = 3 * 32 * 32;

    /// <summary>Bytes per record: the label byte plus the image.</summary>
    public const int RecordBytes = 1 + ImageBytes;

    /// <summary>The class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>
    /// Loads the training split (the five data_batch files, in order) or the test split
    /// (test_batch.bin) from <paramref name="directory"/> or its subfolder cifar-10-batches-bin
    /// (how the official archive unpacks): images float32 [N, 3, 32, 32] in [0, 1], labels int64 [N].
    /// </summary>
    public static TensorDataset Load(string directory, bool train)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string[] names = train ? [.. Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin")] : ["test_batch.bin"];
        var paths = names.Select(name => Find(directory, name, names)).ToArray();
        return LoadFiles(paths);
    }

    /// <summary>Reads and concatenates the given CIFAR-10 binary files (at least one) into one dataset.</summary>
    public static TensorDataset LoadFiles(params string[] paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Length == 0) throw new ArgumentException("Cifar10: expected at least one file to load.", nameof(paths));
        for (int i = 0; i < paths.Length; i++)
            if (paths[i] == null) throw new ArgumentNullException(nameof(paths), $"Cifar10: path {i} of the {paths.Length} files to load is null.");
        // Validate every file's size before reading any of them: a bad last batch fails fast.
        long total = 0;
        foreach (var path in paths)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"Cifar10: file '{path}' does not exist.", path);
            long length = new FileInfo(path).Length;
            if (length == 0 || length % RecordBytes != 0)
                throw new InvalidDataException(
                    $"Cifar10: '{path}' is {length} bytes, expected a positive multiple of {RecordBytes} (1 label byte + {ImageBytes} pixel bytes per image); " +
                    $"it holds {length / RecordBytes} whole records and {length % RecordBytes} stray bytes, so it is truncated or not a CIFAR-10 binary file.");
            total += length / RecordBytes;
        }
        if (total * ImageBytes > Array.MaxLength)
            throw new InvalidDataException($"Cifar10: {total} images are too many to hold in one array.");

        var images = new float[total * ImageBytes];
        var labels = new long[total];
        long n = 0;
        foreach (var path in paths)
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length % RecordBytes != 0)   // the file changed since we measured it
                throw new InvalidDataException($"Cifar10: '{path}' changed size while loading (now {bytes.Length} bytes).");
            for (int r = 0; r < bytes.Length / RecordBytes; r++, n++)
            {
                var record = bytes.AsSpan(r * RecordBytes, RecordBytes);
                if (record[0] > 9)
                    throw new InvalidDataException($"Cifar10: '{path}' record {r} (byte offset {(long)r * RecordBytes}) has label {record[0]}, expected 0..9.");
                labels[n] = record[0];
                var pixels = record[1..];
                var target = images.AsSpan((int)(n * ImageBytes), ImageBytes);
                for (int i = 0; i < ImageBytes; i++) target[i] = pixels[i] / 255f;
            }
        }
        return new TensorDataset(Tensor.FromArray(images, (int)total, 3, 32, 32), Tensor.FromArray(labels));
    }

    private static string Find(string directory, string name, string[] allNames)
    {
        foreach (var folder in new[] { directory, Path.Combine(directory, "cifar-10-batches-bin") })
        {
            var path = Path.Combine(folder, name);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException(
            $"Cifar10: '{name}' is in neither '{directory}' nor its subfolder cifar-10-batches-bin (looked for {string.Join(", ", allNames)}). " +
            "Download the binary version (cifar-10-binary.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html and unpack it there.",
            Path.Combine(directory, name));
    }
}
