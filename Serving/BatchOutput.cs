namespace Tensorium.Serving;

/// <summary>
/// One request's share of a batch's result: its rows of the model's outputs (and, for a
/// classifier, of their softmax), row-major with <see cref="Width"/> values a row.
/// </summary>
/// <param name="Outputs">The model's outputs for the request's examples.</param>
/// <param name="Probabilities">Softmax of the outputs for a classifier; null otherwise.</param>
/// <param name="Width">Values per example (the number of classes of a classifier).</param>
/// <param name="BatchSize">How many examples ran in the forward pass this came from (all requests together).</param>
public sealed record BatchOutput(float[] Outputs, float[]? Probabilities, int Width, int BatchSize);
