using Tensorium.Bert;

namespace Tensorium.Tests.Bert;

/// <summary>BERT's tokenization against hand-worked examples (Hugging Face's own test cases among them), encoding with segments, truncation and padding, decoding, and the vocabulary builder.</summary>
public class WordPieceTokenizerTests
{
    // Hugging Face's WordPiece test vocabulary, with BERT's special tokens.
    private static readonly string[] Vocabulary =
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "want", "##want", "##ed", "wa", "un", "runn", "##ing", ",", "low", "lowest", ".", "he", "said", "!", "\u535A"];

    private static WordPieceTokenizer Tokenizer(bool lowerCase = true) => new(Vocabulary, lowerCase);

    [Test]
    public void BasicTokenizerCleansLowerCasesAndSplitsPunctuation()
    {
        var lower = new BasicTokenizer(lowerCase: true);
        Assert.That(lower.Tokenize(" \tHeLLo!how  \n Are yoU?  "), Is.EqualTo(new[] { "hello", "!", "how", "are", "you", "?" }));
        Assert.That(lower.Tokenize("H\u00E9llo na\u00EFve \u00C5ngstr\u00F6m"), Is.EqualTo(new[] { "hello", "naive", "angstrom" }), "accents stripped");
        Assert.That(lower.Tokenize("e\u0301t\u00E9 \u03AC\u0439 Stra\u00DFe"), Is.EqualTo(new[] { "ete", "\u03B1\u0438", "stra\u00DFe" }),
            "combining marks dropped; Greek and Cyrillic accents stripped; \u00DF has none");
        var cased = new BasicTokenizer(lowerCase: false);
        Assert.That(cased.Tokenize(" \tHeLLo!how  \n Are yoU?  "), Is.EqualTo(new[] { "HeLLo", "!", "how", "Are", "yoU", "?" }));
        Assert.That(cased.Tokenize("H\u00E9llo"), Is.EqualTo(new[] { "H\u00E9llo" }), "cased keeps accents");
        Assert.That(new BasicTokenizer(lowerCase: false, stripAccents: true).Tokenize("H\u00E9llo"), Is.EqualTo(new[] { "Hello" }));
    }

    [Test]
    public void CjkControlAndWhitespace()
    {
        var basic = new BasicTokenizer();
        Assert.That(basic.Tokenize("ah\u535A\u63A8zz"), Is.EqualTo(new[] { "ah", "\u535A", "\u63A8", "zz" }), "each ideograph alone");
        Assert.That(basic.Tokenize("\U00020001x"), Is.EqualTo(new[] { "\U00020001", "x" }), "extension B, beyond the BMP");
        Assert.That(basic.Tokenize("a\u0000b\u200Bc\uFFFD d\u0007"), Is.EqualTo(new[] { "abc", "d" }), "NUL, format, U+FFFD and control removed");
        Assert.That(basic.Tokenize("a\u00A0b\u3000c"), Is.EqualTo(new[] { "a", "b", "c" }), "Unicode spaces split");
        Assert.That(basic.Tokenize("a\u2028b\u2029c\u2003d"), Is.EqualTo(new[] { "a", "b", "c", "d" }), "line and paragraph separators split, as str.split()");
        Assert.That(basic.Tokenize("\u304C\uD55C"), Is.EqualTo(new[] { "\u304C\uD55C" }), "kana with dakuten and Hangul keep their marks (no NFD)");
        Assert.That(basic.Tokenize("$5+3^2=`x` \u00BFqu\u00E9?"), Is.EqualTo(new[] { "$", "5", "+", "3", "^", "2", "=", "`", "x", "`", "\u00BF", "que", "?" }));
    }

    [Test]
    public void WordPieceSplitsGreedilyWithContinuationsAndUnknowns()
    {
        var tokenizer = Tokenizer();
        Assert.That(tokenizer.Tokenize(""), Is.Empty);
        Assert.That(tokenizer.Tokenize("unwanted running"), Is.EqualTo(new[] { "un", "##want", "##ed", "runn", "##ing" }));
        Assert.That(tokenizer.Tokenize("unwantedX running"), Is.EqualTo(new[] { "[UNK]", "runn", "##ing" }), "a word with an uncovered piece is [UNK] whole");
        Assert.That(tokenizer.Tokenize("UNwant\u00C9d,running"), Is.EqualTo(new[] { "un", "##want", "##ed", ",", "runn", "##ing" }));
        Assert.That(tokenizer.Tokenize("lowest low"), Is.EqualTo(new[] { "lowest", "low" }), "longest match first");
        Assert.That(tokenizer.Tokenize("he said [MASK] \u535A!"), Is.EqualTo(new[] { "he", "said", "[MASK]", "\u535A", "!" }), "special tokens are kept whole");
        Assert.That(tokenizer.Tokenize("he said [MASK]."), Is.EqualTo(new[] { "he", "said", "[MASK]", "." }), "a special token touching punctuation");
        Assert.That(new BasicTokenizer(neverSplit: WordPieceTokenizer.SpecialTokens).Tokenize("Paris is the capital of [MASK]."),
            Is.EqualTo(new[] { "paris", "is", "the", "capital", "of", "[MASK]", "." }), "Hugging Face's fill-mask sentence");
        Assert.That(tokenizer.Tokenize("[CLS]he[SEP][MASK]"), Is.EqualTo(new[] { "[CLS]", "he", "[SEP]", "[MASK]" }), "special tokens inside words");
        Assert.That(tokenizer.Tokenize(string.Concat(Enumerable.Repeat("want", 25)) + "x"), Is.EqualTo(new[] { "[UNK]" }), "101 characters");
        Assert.That(new WordPieceTokenizer(Vocabulary, maxCharsPerWord: 3).Tokenize("want wa"), Is.EqualTo(new[] { "[UNK]", "wa" }));
        Assert.That(Tokenizer(lowerCase: false).Tokenize("Want want"), Is.EqualTo(new[] { "[UNK]", "want" }), "cased: no 'Want' piece");
    }

    [Test]
    public void EncodeAddsSpecialTokensSegmentsTruncatesAndPads()
    {
        var tokenizer = Tokenizer();
        var single = tokenizer.Encode("he said");
        Assert.That(single.InputIds, Is.EqualTo(new long[] { 2, 16, 17, 3 }));
        Assert.That(single.TokenTypeIds, Is.EqualTo(new long[] { 0, 0, 0, 0 }));
        Assert.That(single.AttentionMask, Is.EqualTo(new long[] { 1, 1, 1, 1 }));

        var pair = tokenizer.Encode("he said", "unwanted!", maxLength: 10, padToMaxLength: true);
        Assert.That(pair.InputIds, Is.EqualTo(new long[] { 2, 16, 17, 3, 9, 6, 7, 18, 3, 0 }));
        Assert.That(pair.TokenTypeIds, Is.EqualTo(new long[] { 0, 0, 0, 0, 1, 1, 1, 1, 1, 0 }));
        Assert.That(pair.AttentionMask, Is.EqualTo(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 }));

        // longest_first: pieces come off the longer sentence first (4 vs 2, then 3 vs 2), the second on a tie (2 vs 2).
        var cut = tokenizer.Encode("he said", "unwanted!", maxLength: 6);
        Assert.That(cut.InputIds, Is.EqualTo(new long[] { 2, 16, 17, 3, 9, 3 }));
        Assert.That(cut.TokenTypeIds, Is.EqualTo(new long[] { 0, 0, 0, 0, 1, 1 }));
        Assert.That(tokenizer.Encode("he said", "low lowest", maxLength: 6).InputIds, Is.EqualTo(new long[] { 2, 16, 17, 3, 13, 3 }), "a tie from the start");
        Assert.That(tokenizer.Encode("he said", "low lowest", maxLength: 5).InputIds, Is.EqualTo(new long[] { 2, 16, 3, 13, 3 }), "2 vs 2, then 2 vs 1");
        Assert.That(tokenizer.Encode("unwanted running lowest", maxLength: 4).InputIds, Is.EqualTo(new long[] { 2, 9, 6, 3 }));
        var e = Assert.Throws<ArgumentException>(() => tokenizer.Encode("he", "said", maxLength: 2));
        Assert.That(e!.Message, Does.Contain("maxLength 2 leaves no room"));
    }

    [Test]
    public void BatchPadsToTheLongestSequence()
    {
        var tokenizer = Tokenizer();
        using var batch = BertBatch.From([tokenizer.Encode("he said"), tokenizer.Encode("he", "lowest")], tokenizer.PadId);
        Assert.That(batch.InputIds.Shape, Is.EqualTo(new[] { 2, 5 }));
        Assert.That(batch.InputIds.ToArray<long>(), Is.EqualTo(new long[] { 2, 16, 17, 3, 0, 2, 16, 3, 14, 3 }));
        Assert.That(batch.TokenTypeIds.ToArray<long>(), Is.EqualTo(new long[] { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1 }));
        Assert.That(batch.AttentionMask.ToArray<long>(), Is.EqualTo(new long[] { 1, 1, 1, 1, 0, 1, 1, 1, 1, 1 }));
    }

    [Test]
    public void DecodeJoinsPiecesAndRoundTrips()
    {
        var tokenizer = Tokenizer();
        var encoded = tokenizer.Encode("Unwanted running, he said!", "lowest.");
        Assert.That(tokenizer.Decode(encoded.InputIds), Is.EqualTo("unwanted running, he said! lowest."));
        Assert.That(tokenizer.Decode(encoded.InputIds, skipSpecialTokens: false), Is.EqualTo("[CLS] unwanted running, he said! [SEP] lowest. [SEP]"));
        Assert.That(tokenizer.Decode(tokenizer.TokenIds("unwantedX running")), Is.EqualTo("running"), "[UNK] is special: skipped");
        var e = Assert.Throws<ArgumentException>(() => tokenizer.Decode([40]));
        Assert.That(e!.Message, Does.Contain("id 40 is outside the vocabulary [0, 20)"));
    }

    [Test]
    public void VocabularyFileLoadsAndSavesAndNeedsTheSpecialTokens()
    {
        var fixture = WordPieceTokenizer.Load(Path.Combine(BertFixture.Directory, BertCheckpoint.VocabularyFile));
        Assert.That(fixture.VocabSize, Is.EqualTo(40));
        Assert.That(fixture.Tokenize("And the LORD said unto him: Let there be light!"),
            Is.EqualTo(new[] { "and", "the", "lord", "said", "un", "##to", "him", ":", "let", "there", "be", "light", "!" }));
        Assert.That(fixture.Tokenize("Lords blessed"), Is.EqualTo(new[] { "lord", "##s", "[UNK]" }), "no '##l' piece: 'blessed' is unknown");
        string path = Path.Combine(Path.GetTempPath(), $"vocab-{Guid.NewGuid():N}.txt");
        try
        {
            fixture.Save(path);
            Assert.That(WordPieceTokenizer.Load(path).Vocabulary, Is.EqualTo(fixture.Vocabulary));
        }
        finally { File.Delete(path); }
        var e = Assert.Throws<ArgumentException>(() => new WordPieceTokenizer(["[PAD]", "[UNK]", "a"]));
        Assert.That(e!.Message, Does.Contain("lacks [CLS], [SEP], [MASK]"));
        e = Assert.Throws<ArgumentException>(() => new WordPieceTokenizer([.. Vocabulary, "low"]));
        Assert.That(e!.Message, Does.Contain("'low' is in the vocabulary twice (ids 13 and 20)"));
    }

    [Test]
    public void BuiltVocabularyCoversItsTextAndRoundTrips()
    {
        string[] text =
        [
            "In the beginning God created the heaven and the earth.",
            "And the earth was without form, and void; and darkness was upon the face of the deep.",
            "And God said, Let there be light: and there was light.",
            "And God saw the light, that it was good: and God divided the light from the darkness.",
        ];
        var vocabulary = WordPieceVocabulary.Build(text, size: 80);
        Assert.That(vocabulary, Has.Count.EqualTo(80));
        Assert.That(vocabulary.Take(5), Is.EqualTo(WordPieceTokenizer.SpecialTokens));
        Assert.That(vocabulary, Does.Contain("and").And.Contain("the").And.Contain("e").And.Contain("##e").And.Contain("light"));
        Assert.That(vocabulary.Distinct().Count(), Is.EqualTo(vocabulary.Count));
        Assert.That(WordPieceVocabulary.Build(text, size: 80), Is.EqualTo(vocabulary), "deterministic");
        var tokenizer = new WordPieceTokenizer(vocabulary);
        foreach (var line in text)
        {
            var ids = tokenizer.TokenIds(line);
            Assert.That(ids, Does.Not.Contain((long)tokenizer.UnknownId), line);
            // Hugging Face's clean-up glues . , ! ? back, not : and ;.
            Assert.That(tokenizer.Decode(ids).Replace(" :", ":").Replace(" ;", ";"), Is.EqualTo(line.ToLowerInvariant()), line);
        }
        Assert.That(tokenizer.Tokenize("Light"), Is.EqualTo(new[] { "light" }), "a frequent word is one piece");
        var e = Assert.Throws<ArgumentException>(() => WordPieceVocabulary.Build(text, size: 20));
        Assert.That(e!.Message, Does.Contain("cannot hold them"));
    }
}
