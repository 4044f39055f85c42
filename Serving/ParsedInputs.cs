namespace Tensorium.Serving;

/// <summary>A predict request's examples, checked against the card: the values one example after another.</summary>
/// <param name="Values">Count x (values per example) floats, row-major.</param>
/// <param name="Count">How many examples.</param>
/// <param name="Batched">True when the request sent a batch (the answer is then a list per example).</param>
public sealed record ParsedInputs(float[] Values, int Count, bool Batched);
