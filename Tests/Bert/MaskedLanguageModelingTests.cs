using Tensorium.Bert;

namespace Tensorium.Tests.Bert;

/// <summary>BERT's 15% / 80-10-10 masking: the split on a seeded run, special tokens and padding never touched, labels only where selected.</summary>
public class MaskedLanguageModelingTests
{
    private static readonly WordPieceTokenizer Tokenizer = WordPieceTokenizer.Load(Path.Combine(BertFixture.Directory, BertCheckpoint.VocabularyFile));

    /// <summary>Many sequences of random ordinary tokens (ids 5-39) with an [UNK] (id 1) as the fourth, each [CLS] ... [SEP] and padded.</summary>
    private static long[] Sequences(int count, out int ordinaryTokens)
    {
        var random = new Random(11);
        var ids = new List<long>();
        ordinaryTokens = 0;
        for (int s = 0; s < count; s++)
        {
            int length = random.Next(5, 30);
            ids.Add(Tokenizer.ClsId);
            for (int i = 0; i < length; i++) ids.Add(i == 3 ? Tokenizer.UnknownId : random.Next(5, 40));
            ids.Add(Tokenizer.SepId);
            ids.AddRange(Enumerable.Repeat((long)Tokenizer.PadId, 32 - length - 2));
            ordinaryTokens += length - 1;   // the [UNK] is never selected
        }
        return [.. ids];
    }

    [Test]
    public void SelectsFifteenPercentAndSplitsThemEightyTenTen()
    {
        var ids = Sequences(2000, out int ordinary);
        var masked = MaskedLanguageModeling.Mask(ids, Tokenizer, new Generator(1));
        int selected = 0, toMask = 0, toRandom = 0, kept = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            if (masked.Labels[i] == MaskedLanguageModeling.IgnoreIndex)
            {
                Assert.That(masked.InputIds[i], Is.EqualTo(ids[i]), $"position {i} is not selected and must be unchanged");
                continue;
            }
            Assert.That(masked.Labels[i], Is.EqualTo(ids[i]), "the label is the original token");
            selected++;
            if (masked.InputIds[i] == Tokenizer.MaskId) toMask++;
            else if (masked.InputIds[i] == ids[i]) kept++;
            else
            {
                toRandom++;
                Assert.That(Tokenizer.IsSpecial(masked.InputIds[i]), Is.False, "a random replacement is an ordinary token");
            }
        }
        // ~29,000 eligible tokens: 4 standard deviations are about 0.8% of them.
        Assert.That((double)selected / ordinary, Is.EqualTo(0.15).Within(0.01));
        Assert.That((double)toMask / selected, Is.EqualTo(0.8).Within(0.025));
        // A random draw equal to the original (1 in 34) counts as kept.
        Assert.That((double)toRandom / selected, Is.EqualTo(0.1 * 33 / 34).Within(0.02));
        Assert.That((double)kept / selected, Is.EqualTo(0.1 + 0.1 / 34).Within(0.02));
    }

    [Test]
    public void SpecialTokensAndPaddingAreNeverSelected()
    {
        var ids = Sequences(500, out _);
        var masked = MaskedLanguageModeling.Mask(ids, Tokenizer, new Generator(2), probability: 1.0);
        bool sawUnknown = false;
        for (int i = 0; i < ids.Length; i++)
        {
            bool special = Tokenizer.IsSpecial(ids[i]);
            Assert.That(masked.Labels[i] == MaskedLanguageModeling.IgnoreIndex, Is.EqualTo(special), $"position {i} (id {ids[i]})");
            if (special) Assert.That(masked.InputIds[i], Is.EqualTo(ids[i]));
            sawUnknown |= ids[i] == Tokenizer.UnknownId;
        }
        Assert.That(sawUnknown, "the sequences hold [UNK]s, which are never selected (as in Hugging Face)");
    }

    [Test]
    public void TheSeedDecides()
    {
        var ids = Sequences(50, out _);
        var a = MaskedLanguageModeling.Mask(ids, Tokenizer, new Generator(3));
        var b = MaskedLanguageModeling.Mask(ids, Tokenizer, new Generator(3));
        var c = MaskedLanguageModeling.Mask(ids, Tokenizer, new Generator(4));
        Assert.That(b.InputIds, Is.EqualTo(a.InputIds));
        Assert.That(b.Labels, Is.EqualTo(a.Labels));
        Assert.That(c.Labels, Is.Not.EqualTo(a.Labels));
        var e = Assert.Throws<ArgumentException>(() => MaskedLanguageModeling.Mask(ids, Tokenizer, new Generator(3), probability: 1.5));
        Assert.That(e!.Message, Does.Contain("probability must be in [0, 1], got 1.5"));
    }
}
