using System.Text;

namespace Tensorium.Bert;

/// <summary>
/// One tokenized sequence as BERT reads it: token ids ([CLS] a [SEP], or [CLS] a [SEP] b [SEP]),
/// segment ids (0 for the first sentence with its [CLS] and [SEP], 1 for the second) and the
/// attention mask (1 for tokens, 0 for padding).
/// </summary>
/// <param name="InputIds">Token ids.</param>
/// <param name="TokenTypeIds">Segment of each token.</param>
/// <param name="AttentionMask">1 for real tokens, 0 for padding.</param>
public sealed record BertEncoding(long[] InputIds, long[] TokenTypeIds, long[] AttentionMask)
{
    /// <summary>The number of positions, padding included.</summary>
    public int Length => InputIds.Length;
}

/// <summary>
/// BERT's tokenizer (Hugging Face's BertTokenizer): <see cref="BasicTokenizer"/> splits words and
/// punctuation, then each word is split greedily into the longest pieces of a <c>vocab.txt</c>
/// (one token a line; a piece that continues a word starts with "##"), a word with a character
/// no piece covers, or longer than <see cref="MaxCharsPerWord"/> characters, becoming [UNK].
/// <see cref="Encode(string, string?, int?, bool)"/> adds [CLS]/[SEP], segments, truncation and padding; <see cref="Decode"/>
/// joins pieces back into text.
/// </summary>
public sealed class WordPieceTokenizer
{
    /// <summary>The special tokens BERT's vocabularies have.</summary>
    public const string Pad = "[PAD]", Unknown = "[UNK]", Cls = "[CLS]", Sep = "[SEP]", Mask = "[MASK]";

    /// <summary>The special tokens, in the order a new vocabulary lists them (ids 0-4).</summary>
    public static readonly IReadOnlyList<string> SpecialTokens = [Pad, Unknown, Cls, Sep, Mask];

    private readonly string[] _vocabulary;
    private readonly Dictionary<string, int> _ids;
    private readonly BasicTokenizer _basic;

    /// <summary>Creates the tokenizer for <paramref name="vocabulary"/> (token i has id i); it must contain the five special tokens.</summary>
    /// <param name="vocabulary">The tokens by id.</param>
    /// <param name="lowerCase">Lower-case (and strip accents from) the text: true for uncased BERTs.</param>
    /// <param name="maxCharsPerWord">Longer words become [UNK] (100 in BERT).</param>
    public WordPieceTokenizer(IReadOnlyList<string> vocabulary, bool lowerCase = true, int maxCharsPerWord = 100)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        _vocabulary = [.. vocabulary];
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _vocabulary.Length; i++)
            if (!_ids.TryAdd(_vocabulary[i], i))
                throw new ArgumentException($"WordPieceTokenizer: token '{_vocabulary[i]}' is in the vocabulary twice (ids {_ids[_vocabulary[i]]} and {i}).");
        var absent = SpecialTokens.Where(t => !_ids.ContainsKey(t)).ToList();
        if (absent.Count > 0)
            throw new ArgumentException($"WordPieceTokenizer: the vocabulary lacks {string.Join(", ", absent)}; expected all of {string.Join(", ", SpecialTokens)}.");
        if (maxCharsPerWord <= 0) throw new ArgumentException($"WordPieceTokenizer: maxCharsPerWord must be positive, got {maxCharsPerWord}.");
        MaxCharsPerWord = maxCharsPerWord;
        _basic = new BasicTokenizer(lowerCase, neverSplit: SpecialTokens);
        PadId = _ids[Pad];
        UnknownId = _ids[Unknown];
        ClsId = _ids[Cls];
        SepId = _ids[Sep];
        MaskId = _ids[Mask];
    }

    /// <summary>Reads a <c>vocab.txt</c> (one token a line, line i is id i).</summary>
    public static WordPieceTokenizer Load(string path, bool lowerCase = true)
    {
        var lines = File.ReadAllText(path, Encoding.UTF8).Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);   // the file's final newline
        return new WordPieceTokenizer(lines, lowerCase);
    }

    /// <summary>Writes the vocabulary as a <c>vocab.txt</c>.</summary>
    public void Save(string path) => File.WriteAllText(path, string.Join("\n", _vocabulary) + "\n", new UTF8Encoding(false));

    /// <summary>The tokens by id.</summary>
    public IReadOnlyList<string> Vocabulary => _vocabulary;
    /// <summary>The number of tokens.</summary>
    public int VocabSize => _vocabulary.Length;
    /// <summary>Whether text is lower-cased and its accents stripped.</summary>
    public bool LowerCase => _basic.LowerCase;
    /// <summary>Words longer than this many characters become [UNK].</summary>
    public int MaxCharsPerWord { get; }
    /// <summary>Id of [PAD].</summary>
    public int PadId { get; }
    /// <summary>Id of [UNK].</summary>
    public int UnknownId { get; }
    /// <summary>Id of [CLS].</summary>
    public int ClsId { get; }
    /// <summary>Id of [SEP].</summary>
    public int SepId { get; }
    /// <summary>Id of [MASK].</summary>
    public int MaskId { get; }

    /// <summary>Whether <paramref name="id"/> is one of the special tokens.</summary>
    public bool IsSpecial(long id) => id == PadId || id == UnknownId || id == ClsId || id == SepId || id == MaskId;

    /// <summary>The id of <paramref name="token"/>, or [UNK]'s.</summary>
    public int TokenToId(string token) => _ids.TryGetValue(token, out int id) ? id : UnknownId;

    /// <summary>The word pieces of <paramref name="text"/> ("unaffable" -> "un", "##aff", "##able").</summary>
    public List<string> Tokenize(string text)
    {
        var pieces = new List<string>();
        foreach (var word in _basic.Tokenize(text))
            if (SpecialTokens.Contains(word)) pieces.Add(word);
            else SplitWord(word, pieces);
        return pieces;
    }

    /// <summary>
    /// Greedy longest-match-first: the longest vocabulary entry that starts the word, then the
    /// longest "##" entry that continues it, and so on; [UNK] for the whole word when some
    /// position has no entry.
    /// </summary>
    private void SplitWord(string word, List<string> into)
    {
        // Split at characters (code points), never inside a surrogate pair.
        var starts = new List<int>();
        for (int i = 0; i < word.Length; i += char.IsSurrogatePair(word, i) ? 2 : 1) starts.Add(i);
        if (starts.Count > MaxCharsPerWord)
        {
            into.Add(Unknown);
            return;
        }
        starts.Add(word.Length);
        var pieces = new List<string>();
        int start = 0;
        while (start < starts.Count - 1)
        {
            string? found = null;
            int end = starts.Count - 1;
            for (; end > start; end--)
            {
                string piece = word[starts[start]..starts[end]];
                if (start > 0) piece = "##" + piece;
                if (_ids.ContainsKey(piece))
                {
                    found = piece;
                    break;
                }
            }
            if (found == null)
            {
                into.Add(Unknown);
                return;
            }
            pieces.Add(found);
            start = end;
        }
        into.AddRange(pieces);
    }

    /// <summary>The ids of <paramref name="text"/>'s word pieces, without special tokens.</summary>
    public long[] TokenIds(string text) => [.. Tokenize(text).Select(t => (long)TokenToId(t))];

    /// <summary>
    /// [CLS] <paramref name="text"/> [SEP] (and <paramref name="pair"/> [SEP] in segment 1 when
    /// given), truncated to <paramref name="maxLength"/> positions when given (a piece at a time
    /// from the longer sentence, from the second when they are as long, as Hugging Face's
    /// longest_first), padded with [PAD] to
    /// <paramref name="maxLength"/> when <paramref name="padToMaxLength"/>.
    /// </summary>
    public BertEncoding Encode(string text, string? pair = null, int? maxLength = null, bool padToMaxLength = false) =>
        Encode(TokenIds(text), pair == null ? null : TokenIds(pair), maxLength, padToMaxLength);

    /// <summary><see cref="Encode(string, string?, int?, bool)"/> for sentences already turned into ids.</summary>
    public BertEncoding Encode(long[] first, long[]? second, int? maxLength = null, bool padToMaxLength = false)
    {
        int specials = second == null ? 2 : 3;
        if (maxLength is int cap && cap < specials)
            throw new ArgumentException($"WordPieceTokenizer.Encode: maxLength {cap} leaves no room for [CLS] and [SEP] ({specials} positions).");
        if (padToMaxLength && maxLength == null)
            throw new ArgumentException("WordPieceTokenizer.Encode: padToMaxLength needs a maxLength.");
        int a = first.Length, b = second?.Length ?? 0;
        if (maxLength is int max)
            while (a + b + specials > max)
            {
                if (a > b) a--;
                else b--;   // equal lengths: the second sentence gives way, as in Hugging Face
            }
        int length = a + b + specials, total = padToMaxLength ? maxLength!.Value : length;
        var ids = new long[total];
        var types = new long[total];
        var mask = new long[total];
        int p = 0;
        ids[p++] = ClsId;
        for (int i = 0; i < a; i++) ids[p++] = first[i];
        ids[p++] = SepId;
        for (int i = 0; i < b; i++) { types[p] = 1; ids[p++] = second![i]; }
        if (second != null) { types[p] = 1; ids[p++] = SepId; }
        for (int i = 0; i < length; i++) mask[i] = 1;
        for (; p < total; p++) ids[p] = PadId;
        return new BertEncoding(ids, types, mask);
    }

    /// <summary>
    /// The text of <paramref name="ids"/>: pieces joined by spaces, "##" continuations glued to the
    /// previous piece, the space before . , ! ? and in English contractions removed (Hugging Face's
    /// clean-up); special tokens left out when <paramref name="skipSpecialTokens"/>. Lower-casing
    /// and stripped accents do not come back.
    /// </summary>
    public string Decode(IEnumerable<long> ids, bool skipSpecialTokens = true)
    {
        var builder = new StringBuilder();
        foreach (long id in ids)
        {
            if (id < 0 || id >= _vocabulary.Length)
                throw new ArgumentException($"WordPieceTokenizer.Decode: id {id} is outside the vocabulary [0, {_vocabulary.Length}).");
            if (skipSpecialTokens && IsSpecial(id)) continue;
            string token = _vocabulary[id];
            if (token.StartsWith("##", StringComparison.Ordinal) && builder.Length > 0) builder.Append(token, 2, token.Length - 2);
            else
            {
                if (builder.Length > 0) builder.Append(' ');
                builder.Append(token);
            }
        }
        foreach (var (spaced, tight) in CleanUps) builder.Replace(spaced, tight);
        return builder.ToString();
    }

    private static readonly (string, string)[] CleanUps =
        [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")];
}
