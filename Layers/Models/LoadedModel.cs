using Tensorium.Layers;

namespace Tensorium.Models;

/// <summary>
/// A model rebuilt from its card and weights (<see cref="ModelFiles.Load"/>), ready for
/// inference. <see cref="Forward"/> runs through <see cref="Module.Predict"/> (evaluation mode,
/// nothing recorded on the tape, intermediates freed), so it never changes the
/// module and any number of threads may call it at once. Disposing it frees the weights.
/// </summary>
public sealed class LoadedModel : IDisposable
{
    internal LoadedModel(ModelCard card, Module module, string cardPath, string weightsPath)
    {
        Card = card;
        Module = module;
        CardPath = cardPath;
        WeightsPath = weightsPath;
    }

    /// <summary>The model's card.</summary>
    public ModelCard Card { get; }

    /// <summary>The module with the trained weights loaded.</summary>
    public Module Module { get; }

    /// <summary>The model's name (its card's).</summary>
    public string Name => Card.Name;

    /// <summary>Where the card was read from.</summary>
    public string CardPath { get; }

    /// <summary>Where the weights were read from.</summary>
    public string WeightsPath { get; }

    /// <summary>
    /// The module's output for <paramref name="batch"/> (the batch dimension first, then the
    /// card's input shape), computed by <see cref="Module.Predict"/>: in evaluation mode, without
    /// recording gradients, with every intermediate freed. The caller owns (disposes) the result.
    /// </summary>
    public Tensor Forward(Tensor batch) => Module.Predict(batch);

    /// <summary>
    /// Class probabilities (softmax of the outputs over the last dimension) for
    /// <paramref name="batch"/>, as host arrays: the logits and the probabilities, each [B, C] row-major.
    /// </summary>
    public (float[] Logits, float[] Probabilities, int Classes) Classify(Tensor batch)
    {
        using var logits = Forward(batch);
        using var probabilities = logits.Softmax(-1);
        return (logits.ToArray<float>(), probabilities.ToArray<float>(), logits.Size(-1));
    }

    /// <summary>Frees the module's weights.</summary>
    public void Dispose() => Module.Dispose();
}
