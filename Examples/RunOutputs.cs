using System.Globalization;
using Tensorium.Data;
using Tensorium.Layers;

/// <summary>
/// Where an example's outputs go. Every run writes into a folder of its own,
/// <c>{--out}/runs/{name}-{UTC time}</c>: weights, history, curves, confusion matrix. The model
/// at <c>{--out}/{name}.safetensors</c> (the one the README, the other examples and a server
/// load) is replaced only by a run that scores at least as well as the model there (its score is
/// in the file's metadata), so a quick <c>--limit</c> run never overwrites the demo's trained
/// model. A model file without a recorded score is replaced only by a run on the whole data set.
/// </summary>
sealed class RunOutputs
{
    private readonly ExampleOptions _options;
    private readonly string _name;

    /// <summary>Makes the run folder for example <paramref name="name"/> under --out.</summary>
    public RunOutputs(ExampleOptions options, string name)
    {
        _options = options;
        _name = name;
        string stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        string folder = Path.Combine(options.OutputDirectory, "runs", $"{name}-{stamp}");
        for (int i = 2; Directory.Exists(folder); i++) folder = Path.Combine(options.OutputDirectory, "runs", $"{name}-{stamp}-{i}");
        Folder = Directory.CreateDirectory(folder).FullName;
    }

    /// <summary>This run's folder.</summary>
    public string Folder { get; }

    /// <summary>A path in this run's folder.</summary>
    public string InRun(string file) => Path.Combine(Folder, file);

    /// <summary>The demo model's path: {--out}/{name}.safetensors.</summary>
    public string ModelPath => Path.Combine(_options.OutputDirectory, $"{_name}.safetensors");

    /// <summary>
    /// Saves <paramref name="model"/> in the run folder with <paramref name="scoreName"/> =
    /// <paramref name="score"/> in its metadata, then copies it over the demo model when it scores
    /// at least as well (higher or lower, as <paramref name="higherIsBetter"/> says). Returns
    /// whether it did; says on the console what happened and why.
    /// </summary>
    public bool SaveModel(Module model, string scoreName, double score, bool higherIsBetter, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>())
        {
            [scoreName] = score.ToString("R", CultureInfo.InvariantCulture),
            ["examples_limit"] = _options.MaxExamples?.ToString(CultureInfo.InvariantCulture) ?? "none",
        };
        string runWeights = InRun($"{_name}.safetensors");
        Checkpoint.Save(runWeights, model, metadata: meta);
        Console.WriteLine($"saved this run's model, history and curves to {Folder}");

        var (replace, why) = ShouldReplace(scoreName, score, higherIsBetter);
        if (replace)
        {
            File.Copy(runWeights, ModelPath, overwrite: true);
            Console.WriteLine($"saved the model to {ModelPath} ({why})");
        }
        else Console.WriteLine($"kept {ModelPath}: {why} (this run's model is in the run folder)");
        return replace;
    }

    private (bool Replace, string Why) ShouldReplace(string scoreName, double score, bool higherIsBetter)
    {
        if (!File.Exists(ModelPath)) return (true, "there was none");
        string? recorded = null;
        try
        {
            SafeTensors.ReadMetadata(ModelPath).TryGetValue(scoreName, out recorded);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return (true, $"the file there was unreadable: {e.Message}");
        }
        string ours = score.ToString("F4", CultureInfo.InvariantCulture);
        if (recorded == null || !double.TryParse(recorded, NumberStyles.Float, CultureInfo.InvariantCulture, out double best))
            return _options.MaxExamples == null
                ? (true, $"the one there had no recorded {scoreName}; this run used the whole data set")
                : (false, $"the model there has no recorded {scoreName} and this is a --limit run");
        string theirs = best.ToString("F4", CultureInfo.InvariantCulture);
        bool better = higherIsBetter ? score >= best : score <= best;
        return better
            ? (true, $"{scoreName} {ours}, the one there had {theirs}")
            : (false, $"its {scoreName} {theirs} is better than this run's {ours}");
    }
}
