using Tensorium.Data;

namespace Tensorium.Models;

/// <summary>
/// Continues a prompt with a character language model (a <see cref="ModelKind.LanguageModel"/>
/// card): each step reads the last <c>context</c> characters, and draws the next one from
/// softmax(logits / temperature), or takes the most likely one at temperature 0.
/// </summary>
public static class TextGeneration
{
    /// <summary>
    /// Yields up to <paramref name="maxTokens"/> characters continuing <paramref name="prompt"/>,
    /// one per model step, so a caller can stream them (and stop early by not asking for more).
    /// Every character of the prompt must be in the card's vocabulary.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not a language model, the prompt has characters outside its vocabulary, or a number is out of range; checked before the first step.</exception>
    public static IEnumerable<char> Generate(LoadedModel model, string prompt, int maxTokens, double temperature, Random random)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(random);
        var card = model.Card;
        if (card.Kind != ModelKind.LanguageModel)
            throw new ArgumentException($"generate: model '{card.Name}' is a {card.Kind}; expected a {ModelKind.LanguageModel}.");
        var unknown = prompt.Where(c => !card.Vocabulary!.Contains(c)).Distinct().ToArray();
        if (unknown.Length > 0)
            throw new ArgumentException($"generate: the prompt has characters outside model '{card.Name}''s vocabulary: {string.Join(" ", unknown.Select(c => $"'{c}' (U+{(int)c:X4})"))}; expected only characters of its {card.Vocabulary!.Length}-character alphabet.");
        if (prompt.Length == 0)
            throw new ArgumentException("generate: the prompt is empty; expected at least one character.");
        if (maxTokens < 0)
            throw new ArgumentException($"generate: max_tokens is {maxTokens}; expected 0 or more.");
        if (!double.IsFinite(temperature) || temperature < 0)
            throw new ArgumentException($"generate: temperature is {temperature}; expected a finite number >= 0 (0: always the most likely character).");
        return Steps(model, new CharTokenizer(card.Vocabulary!), prompt, maxTokens, temperature, random);
    }

    private static IEnumerable<char> Steps(LoadedModel model, CharTokenizer tokenizer, string prompt, int maxTokens, double temperature, Random random)
    {
        int context = model.Card.Int("context");
        var ids = tokenizer.Encode(prompt).ToList();
        for (int step = 0; step < maxTokens; step++)
        {
            var window = ids.Skip(Math.Max(0, ids.Count - context)).ToArray();
            float[] last;
            using (var input = Tensor.FromArray(window, 1, window.Length))
            using (var logits = model.Forward(input))
            using (var lastRow = logits.Narrow(1, window.Length - 1, 1))
                last = lastRow.ToArray<float>();
            int next = temperature == 0 ? ArgMax(last) : Draw(last, temperature, random);
            ids.Add(next);
            yield return tokenizer.Alphabet[next];
        }
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    private static int Draw(float[] logits, double temperature, Random random)
    {
        double max = logits.Max();
        var weights = logits.Select(l => Math.Exp((l - max) / temperature)).ToArray();
        double u = random.NextDouble() * weights.Sum();
        int next = 0;
        for (double sum = weights[0]; sum < u && next < weights.Length - 1; sum += weights[++next]) { }
        return next;
    }
}
