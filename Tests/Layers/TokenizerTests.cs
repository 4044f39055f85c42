using Tensorium.Data;

namespace Tensorium.Tests.Data;

/// <summary>CharTokenizer: vocabulary, round trips and errors.</summary>
public class TokenizerTests
{
    [Test]
    public void VocabularyIsTheSortedDistinctCharacters()
    {
        var tok = new CharTokenizer("hello world");
        Assert.That(tok.Alphabet, Is.EqualTo(" dehlorw"));
        Assert.That(tok.VocabSize, Is.EqualTo(8));
        Assert.That(tok.Encode("hello"), Is.EqualTo(new long[] { 3, 2, 4, 4, 5 }));
    }

    [Test]
    public void EncodeDecodeRoundTripsIncludingTensors()
    {
        const string text = "To be, or not to be: that is the question.\n";
        var tok = new CharTokenizer(text);
        Assert.That(tok.Decode(tok.Encode(text)), Is.EqualTo(text));
        using var ids = tok.EncodeTensor("be or not");
        Assert.That(ids.DType, Is.EqualTo(DType.Int64));
        Assert.That(ids.Shape, Is.EqualTo(new[] { 9 }));
        Assert.That(tok.Decode(ids), Is.EqualTo("be or not"));
        using var int32 = Tensor.FromArray(tok.Encode("that").Select(i => (int)i).ToArray());
        Assert.That(tok.Decode(int32), Is.EqualTo("that"));
        Assert.That(new CharTokenizer(tok.Alphabet).Encode(text), Is.EqualTo(tok.Encode(text)), "the alphabet rebuilds the same tokenizer");
    }

    [Test]
    public void UnknownCharactersAndIdsAreClearErrors()
    {
        var tok = new CharTokenizer("abc");
        var e = Assert.Throws<ArgumentException>(() => tok.Encode("abz"));
        Assert.That(e!.Message, Does.Contain("'z'").And.Contain("position 2").And.Contain("3 characters"));
        var d = Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode(new long[] { 0, 3 }));
        Assert.That(d!.Message, Does.Contain("id 3").And.Contain("0..2"));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode(new long[] { -1 }));
        using var floats = Tensor.Zeros([2]);
        Assert.Throws<ArgumentException>(() => tok.Decode(floats));
        Assert.Throws<ArgumentException>(() => new CharTokenizer(""));
    }
}
