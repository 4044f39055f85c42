namespace Tensorium.Models;

/// <summary>One class of a classifier's answer: its label, its index and its softmax probability.</summary>
/// <param name="Label">The class name from the card (the index as text when the card has fewer labels).</param>
/// <param name="Index">The class index (the position in the model's output).</param>
/// <param name="Probability">The softmax probability of the class, in [0, 1].</param>
public sealed record ClassPrediction(string Label, int Index, float Probability)
{
    /// <summary>
    /// The <paramref name="count"/> most probable classes of one example, most probable first
    /// (ties: lower index first).
    /// </summary>
    public static IReadOnlyList<ClassPrediction> Top(ReadOnlySpan<float> probabilities, IReadOnlyList<string>? labels, int count)
    {
        // A partial selection: k passes over C classes, and k is small (5) next to any C we serve.
        count = Math.Min(count, probabilities.Length);
        var result = new List<ClassPrediction>(count);
        var taken = new bool[probabilities.Length];
        for (int k = 0; k < count; k++)
        {
            int best = -1;
            for (int c = 0; c < probabilities.Length; c++)
                if (!taken[c] && (best < 0 || probabilities[c] > probabilities[best])) best = c;
            taken[best] = true;
            string label = labels != null && best < labels.Count ? labels[best] : best.ToString();
            result.Add(new ClassPrediction(label, best, probabilities[best]));
        }
        return result;
    }
}
