using System.Text;

namespace Tensorium.Data;

/// <summary>
/// The simplest tokenizer: one token per character (as in char-rnn and nanoGPT's Shakespeare
/// demo). The vocabulary is the distinct characters of a training text, sorted by code, so
/// the same text always gives the same ids. Characters are UTF-16 code units: an emoji (a
/// surrogate pair) becomes two tokens, which round-trips fine.
/// </summary>
public sealed class CharTokenizer
{
    private readonly char[] _vocabulary;
    private readonly Dictionary<char, int> _ids;

    /// <summary>Builds the vocabulary from the distinct characters of <paramref name="text"/>.</summary>
    public CharTokenizer(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _vocabulary = text.Distinct().Order().ToArray();   // char ordering is ordinal: culture-independent
        if (_vocabulary.Length == 0)
            throw new ArgumentException("CharTokenizer: the text is empty, so there is no vocabulary.", nameof(text));
        _ids = new Dictionary<char, int>(_vocabulary.Length);
        for (int i = 0; i < _vocabulary.Length; i++) _ids[_vocabulary[i]] = i;
    }

    /// <summary>Number of distinct tokens (the size of an embedding table or output layer).</summary>
    public int VocabSize => _vocabulary.Length;

    /// <summary>
    /// The vocabulary as a string, character i having id i. <c>new CharTokenizer(Alphabet)</c>
    /// rebuilds the same tokenizer, so it is what to store beside a model (e.g. in checkpoint metadata).
    /// </summary>
    public string Alphabet => new(_vocabulary);

    /// <summary>The ids of <paramref name="text"/>'s characters; throws for a character outside the vocabulary.</summary>
    public long[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new long[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            if (!_ids.TryGetValue(text[i], out int id))
                throw new ArgumentException($"CharTokenizer: character {Describe(text[i])} at position {i} is not in the vocabulary of {VocabSize} characters.", nameof(text));
            ids[i] = id;
        }
        return ids;
    }

    /// <summary>The ids of <paramref name="text"/> as an int64 tensor [length] (the caller disposes it).</summary>
    public Tensor EncodeTensor(string text)
    {
        var ids = Encode(text);
        return Tensor.FromArray(ids, ids.Length);
    }

    /// <summary>The text for <paramref name="ids"/>; throws for an id outside 0..VocabSize-1.</summary>
    public string Decode(ReadOnlySpan<long> ids)
    {
        var sb = new StringBuilder(ids.Length);
        for (int i = 0; i < ids.Length; i++)
        {
            if ((ulong)ids[i] >= (ulong)VocabSize)
                throw new ArgumentOutOfRangeException(nameof(ids), $"CharTokenizer: id {ids[i]} at position {i} is outside the vocabulary (expected 0..{VocabSize - 1}).");
            sb.Append(_vocabulary[ids[i]]);
        }
        return sb.ToString();
    }

    /// <summary>The text for an integer tensor of ids (any shape, read in row-major order).</summary>
    public string Decode(Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.DType.IsFloating())
            throw new ArgumentException($"CharTokenizer: expected an int32 or int64 tensor of ids, got {ids.DType.Name()}.", nameof(ids));
        return Decode(ids.DType == DType.Int64 ? ids.ToArray<long>() : Array.ConvertAll(ids.ToArray<int>(), v => (long)v));
    }

    private static string Describe(char c) =>
        char.IsControl(c) || char.IsWhiteSpace(c) || char.IsSurrogate(c) ? $"U+{(int)c:X4}" : $"'{c}' (U+{(int)c:X4})";
}
