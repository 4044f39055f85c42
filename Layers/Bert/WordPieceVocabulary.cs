namespace Tensorium.Bert;

/// <summary>
/// Builds a small WordPiece vocabulary from text, for training a BERT from scratch. The method is
/// plain counting, not the likelihood-driven WordPiece training of the original BERT:
/// <list type="number">
/// <item>the five special tokens ([PAD], [UNK], [CLS], [SEP], [MASK], ids 0-4);</item>
/// <item>every character seen, alone and as a "##" continuation, so that no word of known
/// characters becomes [UNK];</item>
/// <item>the most frequent whole words, until three quarters of the remaining room is used;</item>
/// <item>the most frequent word starts and "##" word ends (2 to 6 characters) of the words not
/// taken whole, each scored by occurrences times the characters it saves, until the size is
/// reached.</item>
/// </list>
/// Words are what <see cref="BasicTokenizer"/> makes of the text. Ties go to the ordinally first
/// string, so the same text always gives the same vocabulary.
/// </summary>
public static class WordPieceVocabulary
{
    /// <summary>A vocabulary of at most <paramref name="size"/> tokens for <paramref name="texts"/> (one line each, any length).</summary>
    public static List<string> Build(IEnumerable<string> texts, int size, bool lowerCase = true)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var basic = new BasicTokenizer(lowerCase);
        var words = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var text in texts)
            foreach (var word in basic.Tokenize(text))
                words[word] = words.GetValueOrDefault(word) + 1;

        var vocabulary = new List<string>(WordPieceTokenizer.SpecialTokens);
        var taken = new HashSet<string>(vocabulary, StringComparer.Ordinal);
        void Take(string token)
        {
            if (taken.Add(token)) vocabulary.Add(token);
        }

        // Characters: starting a word, then continuing one, most frequent first.
        var starts = new Dictionary<string, long>(StringComparer.Ordinal);
        var continuations = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (word, count) in words)
        {
            bool first = true;
            foreach (var rune in word.EnumerateRunes())
            {
                var table = first ? starts : continuations;
                string key = first ? rune.ToString() : "##" + rune;
                table[key] = table.GetValueOrDefault(key) + count;
                first = false;
            }
        }
        foreach (var c in ByScore(starts).Concat(ByScore(continuations))) Take(c);
        if (vocabulary.Count > size)
            throw new ArgumentException($"WordPieceVocabulary.Build: the text has {vocabulary.Count - WordPieceTokenizer.SpecialTokens.Count} characters (alone and continuing a word); a vocabulary of {size} cannot hold them and the special tokens.");

        int wholeWords = (size - vocabulary.Count) * 3 / 4;
        var frequent = ByScore(words.Where(kv => kv.Key.Length > 1).ToDictionary()).Take(wholeWords).ToList();
        foreach (var word in frequent) Take(word);

        var pieces = new Dictionary<string, long>(StringComparer.Ordinal);
        var whole = frequent.ToHashSet(StringComparer.Ordinal);
        foreach (var (word, count) in words)
        {
            if (whole.Contains(word) || word.Length < 3) continue;
            for (int n = 2; n <= Math.Min(6, word.Length - 1); n++)
            {
                string start = word[..n], end = "##" + word[^n..];
                pieces[start] = pieces.GetValueOrDefault(start) + count * (n - 1);
                pieces[end] = pieces.GetValueOrDefault(end) + count * (n - 1);
            }
        }
        foreach (var piece in ByScore(pieces))
        {
            if (vocabulary.Count >= size) break;
            Take(piece);
        }
        return vocabulary;
    }

    private static IEnumerable<string> ByScore(Dictionary<string, long> scores) =>
        scores.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key);
}
