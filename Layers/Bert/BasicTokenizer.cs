using System.Globalization;
using System.Text;

namespace Tensorium.Bert;

/// <summary>
/// BERT's first tokenization pass (Hugging Face's BasicTokenizer): removes control characters
/// and U+FFFD, turns every kind of whitespace into a space, puts spaces around CJK ideographs
/// (each becomes a token of its own), lower-cases and strips accents when asked, and splits
/// punctuation off as tokens of its own. <see cref="WordPieceTokenizer"/> then splits each word.
/// </summary>
public sealed class BasicTokenizer
{
    private readonly HashSet<string> _neverSplit;

    /// <summary>Creates the tokenizer.</summary>
    /// <param name="lowerCase">Lower-case the text (uncased BERTs).</param>
    /// <param name="stripAccents">Remove accents: combining marks are dropped and the precomposed Latin, Greek and Cyrillic letters lose theirs (see <see cref="AccentTable"/>; other scripts keep theirs, e.g. Japanese kana with dakuten, which Hugging Face's NFD would strip); null: when lower-casing, as Hugging Face.</param>
    /// <param name="neverSplit">Tokens kept as they are wherever they appear, even touching other text (the special tokens, e.g. [MASK] written in the text).</param>
    public BasicTokenizer(bool lowerCase = true, bool? stripAccents = null, IEnumerable<string>? neverSplit = null)
    {
        LowerCase = lowerCase;
        StripAccents = stripAccents ?? lowerCase;
        _neverSplit = new HashSet<string>(neverSplit ?? [], StringComparer.Ordinal);
    }

    /// <summary>Whether text is lower-cased.</summary>
    public bool LowerCase { get; }
    /// <summary>Whether accents are removed.</summary>
    public bool StripAccents { get; }

    /// <summary>
    /// The words and punctuation marks of <paramref name="text"/>, in order. The never-split
    /// tokens are cut out of the text first, wherever they occur (Hugging Face's added-token
    /// split), so "capital of [MASK]." keeps [MASK] whole before its full stop.
    /// </summary>
    public List<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<string>();
        int start = 0;
        while (true)
        {
            var (at, token) = NextNeverSplit(text, start);
            TokenizeWords(text[start..at], result);
            if (token == null) return result;
            result.Add(token);
            start = at + token.Length;
        }
    }

    /// <summary>Where the first never-split token at or after <paramref name="start"/> begins (the longest one there), or the text's end and null.</summary>
    private (int At, string? Token) NextNeverSplit(string text, int start)
    {
        int at = text.Length;
        string? found = null;
        foreach (var token in _neverSplit)
        {
            if (token.Length == 0) continue;
            int i = text.IndexOf(token, start, StringComparison.Ordinal);
            if (i < 0 || i > at || (i == at && found != null && token.Length <= found.Length)) continue;
            at = i;
            found = token;
        }
        return (at, found);
    }

    /// <summary>Cleans, spaces, lower-cases and punctuation-splits a stretch of text that holds no never-split token.</summary>
    private void TokenizeWords(string text, List<string> into)
    {
        var spaced = new StringBuilder(text.Length + 8);
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value == 0 || rune.Value == 0xFFFD || IsControl(rune)) continue;
            if (IsWhitespace(rune)) spaced.Append(' ');
            else if (IsCjk(rune.Value)) spaced.Append(' ').Append(rune.ToString()).Append(' ');
            else spaced.Append(rune.ToString());
        }
        foreach (var word in spaced.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string w = LowerCase ? word.ToLowerInvariant() : word;
            if (StripAccents) w = RemoveAccents(w);
            SplitOnPunctuation(w, into);
        }
    }

    /// <summary>
    /// Without accents: combining marks dropped, precomposed Latin, Greek and Cyrillic letters
    /// replaced by their base letter (é -> e; see <see cref="AccentTable"/>). Globalization is
    /// invariant, so there is no NFD: precomposed letters of other scripts keep their marks
    /// (Japanese が stays が where Hugging Face gives か; Hangul syllables stay whole).
    /// </summary>
    private static string RemoveAccents(string word)
    {
        var builder = new StringBuilder(word.Length);
        foreach (var rune in word.EnumerateRunes())
            if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark) builder.Append(AccentTable.Strip(rune).ToString());
        return builder.ToString();
    }

    /// <summary>Appends <paramref name="word"/>'s runs of non-punctuation, and each punctuation character alone.</summary>
    private static void SplitOnPunctuation(string word, List<string> into)
    {
        var current = new StringBuilder();
        foreach (var rune in word.EnumerateRunes())
        {
            if (!IsPunctuation(rune))
            {
                current.Append(rune.ToString());
                continue;
            }
            if (current.Length > 0) into.Add(current.ToString());
            current.Clear();
            into.Add(rune.ToString());
        }
        if (current.Length > 0) into.Add(current.ToString());
    }

    /// <summary>
    /// Space, tab, newline, carriage return and the Unicode separators (Zs, and the line and
    /// paragraph separators U+2028/U+2029), which Python's str.split() also splits on.
    /// </summary>
    private static bool IsWhitespace(Rune r) =>
        r.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(r) is UnicodeCategory.SpaceSeparator
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

    /// <summary>Unicode "C*" categories (control, format, ...) except the whitespace controls.</summary>
    private static bool IsControl(Rune r)
    {
        if (r.Value is '\t' or '\n' or '\r') return false;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    /// <summary>
    /// Unicode "P*" categories, and every non-alphanumeric printable ASCII character ($, +, ^, `
    /// are symbols in Unicode but BERT splits them too).
    /// </summary>
    public static bool IsPunctuation(Rune r)
    {
        int c = r.Value;
        if (c is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>The CJK Unified Ideographs blocks (with extensions A-E and compatibility ideographs), as BERT defines them.</summary>
    public static bool IsCjk(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
