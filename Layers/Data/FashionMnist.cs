namespace Tensorium.Data;

/// <summary>
/// Zalando's Fashion-MNIST: 60,000 training and 10,000 test grayscale 28x28 images of clothing
/// in 10 classes, stored in the MNIST IDX format. On Debian, <c>apt-get install
/// dataset-fashion-mnist</c> puts the four gzipped files in <see cref="DefaultDirectory"/>.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where the Debian package dataset-fashion-mnist installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// Loads the training split (<paramref name="train"/>) or the test split from
    /// <paramref name="directory"/>: images float32 [N, 1, 28, 28] in [0, 1], labels int64 [N] in
    /// 0..9. Files are found by their standard names (train-images-idx3-ubyte, t10k-labels-idx1-ubyte,
    /// ...), raw or with ".gz".
    /// </summary>
    public static TensorDataset Load(string directory, bool train)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string split = train ? "train" : "t10k";
        return Idx.LoadImagesAndLabels(Find(directory, $"{split}-images-idx3-ubyte"), Find(directory, $"{split}-labels-idx1-ubyte"));
    }

    /// <summary>Loads a split from <see cref="DefaultDirectory"/>.</summary>
    public static TensorDataset Load(bool train) => Load(DefaultDirectory, train);

    /// <summary>The path of <paramref name="name"/> or <paramref name="name"/>.gz in the directory, or an error telling how to get it.</summary>
    private static string Find(string directory, string name)
    {
        string[] candidates = [name, name + ".gz"];
        foreach (var candidate in candidates)
        {
            var path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException(
            $"FashionMnist: found neither {string.Join(" nor ", candidates)} in '{directory}'. " +
            $"Install them with 'apt-get install dataset-fashion-mnist' (Debian/Ubuntu; files go to {DefaultDirectory}) " +
            "or download them from the zalandoresearch/fashion-mnist repository on GitHub (data/fashion).",
            Path.Combine(directory, name));
    }
}
