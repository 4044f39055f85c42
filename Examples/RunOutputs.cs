using System.Globalization;
using Tensorium.Layers;
using Tensorium.Models;

/// <summary>
/// Where an example's outputs go. Every run writes into a folder of its own,
/// <c>{--out}/runs/{name}-{UTC time}</c>: weights and card, history, curves, confusion matrix.
/// The model at <c>{--out}/{name}.safetensors</c> with its card <c>{name}.json</c> (what the
/// README, the other examples and <c>./build.sh serve</c> load) is replaced only by a run that
/// scores at least as well as the model there (its score is in its card's metrics), so a quick
/// <c>--limit</c> run never overwrites the demo's trained model. A model there without a
/// recorded score is replaced only by a run on the whole data set.
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

    /// <summary>The demo model's weights: {--out}/{name}.safetensors.</summary>
    public string ModelPath => ModelFiles.WeightsPath(_options.OutputDirectory, _name);

    /// <summary>
    /// Saves <paramref name="model"/> and <paramref name="card"/> in the run folder, then over the
    /// demo model when the card's <paramref name="scoreName"/> metric is at least as good as the
    /// one recorded there (higher or lower, as <paramref name="higherIsBetter"/> says). Returns
    /// whether it replaced it; says on the console what happened and why.
    /// </summary>
    public bool SaveModel(ModelCard card, Module model, string scoreName, bool higherIsBetter)
    {
        if (!card.Metrics.TryGetValue(scoreName, out double score))
            throw new ArgumentException($"{card.Name}: the card has no '{scoreName}' metric to compare runs by (has: {string.Join(", ", card.Metrics.Keys)}).");
        ModelFiles.Save(Folder, card, model);
        Console.WriteLine($"saved this run's model, card and outputs to {Folder}");
        var (replace, why) = ShouldReplace(scoreName, score, higherIsBetter);
        if (replace)
        {
            string cardPath = ModelFiles.Save(_options.OutputDirectory, card, model);
            Console.WriteLine($"saved the model to {ModelPath} and its card to {cardPath} ({why})");
        }
        else Console.WriteLine($"kept {ModelPath}: {why} (this run's model is in the run folder)");
        return replace;
    }

    private (bool Replace, string Why) ShouldReplace(string scoreName, double score, bool higherIsBetter)
    {
        string cardPath = ModelFiles.CardPath(_options.OutputDirectory, _name);
        if (!File.Exists(ModelPath) && !File.Exists(cardPath)) return (true, "there was none");
        double? recorded = null;
        if (File.Exists(cardPath))
            try
            {
                if (ModelCard.Load(cardPath).Metrics.TryGetValue(scoreName, out double value)) recorded = value;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or System.Text.Json.JsonException)
            {
                // An unreadable card scores as unknown.
            }
        string ours = score.ToString("F4", CultureInfo.InvariantCulture);
        if (recorded is not double best)
            return _options.MaxExamples == null
                ? (true, $"the model there had no recorded {scoreName}; this run used the whole data set")
                : (false, $"the model there has no recorded {scoreName} and this is a --limit run");
        string theirs = best.ToString("F4", CultureInfo.InvariantCulture);
        bool better = higherIsBetter ? score >= best : score <= best;
        return better
            ? (true, $"{scoreName} {ours}, the one there had {theirs}")
            : (false, $"its {scoreName} {theirs} is better than this run's {ours}");
    }
}
