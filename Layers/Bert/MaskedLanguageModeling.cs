using Tensorium.Data;

namespace Tensorium.Bert;

/// <summary>
/// Token ids prepared for masked-language-model training: the model's inputs, and the labels its
/// loss reads (the original id where a token was selected, <see cref="MaskedLanguageModeling.IgnoreIndex"/> elsewhere).
/// </summary>
/// <param name="InputIds">The ids with the selected tokens replaced.</param>
/// <param name="Labels">The original id at each selected position, -100 elsewhere.</param>
public sealed record MaskedTokens(long[] InputIds, long[] Labels);

/// <summary>
/// BERT's masking for masked-LM pretraining (as Hugging Face's DataCollatorForLanguageModeling):
/// each token that is not one of the special tokens ([CLS], [SEP], [PAD], [MASK], [UNK]: Hugging
/// Face leaves out all its special ids, [UNK] among them) is selected with probability 0.15; a
/// selected token becomes [MASK] 80% of the time, a random token 10% of the time and stays as it
/// is 10% of the time, so the model cannot tell which tokens to predict by looking for [MASK].
/// The random token is drawn uniformly from the vocabulary without the five special tokens,
/// unlike Hugging Face, which draws from the whole vocabulary and so now and then puts a [PAD]
/// or [CLS] mid-sentence. Only selected positions have a label; the others get -100, which the
/// cross-entropy loss ignores. The draws come from a <see cref="Generator"/>'s Philox stream,
/// so a seed gives the same masks on every machine.
/// </summary>
public static class MaskedLanguageModeling
{
    /// <summary>The label of positions that are not predicted (the cross-entropy's default ignore index).</summary>
    public const long IgnoreIndex = -100;

    /// <summary>Masks <paramref name="ids"/> (any number of sequences, padding included) for <paramref name="tokenizer"/>'s vocabulary.</summary>
    /// <param name="ids">Token ids, e.g. a padded batch's flat ids.</param>
    /// <param name="tokenizer">Gives the special tokens' ids and the vocabulary size.</param>
    /// <param name="generator">Random source; the draws advance it.</param>
    /// <param name="probability">The share of eligible tokens selected (0.15 in BERT).</param>
    public static MaskedTokens Mask(ReadOnlySpan<long> ids, WordPieceTokenizer tokenizer, Generator generator, double probability = 0.15)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(generator);
        if (!(probability >= 0 && probability <= 1))
            throw new ArgumentException($"MaskedLanguageModeling.Mask: probability must be in [0, 1], got {probability}.");
        long[] special = [tokenizer.PadId, tokenizer.ClsId, tokenizer.SepId, tokenizer.MaskId, tokenizer.UnknownId];
        Array.Sort(special);
        int ordinary = tokenizer.VocabSize - special.Length;
        if (ordinary <= 0) throw new ArgumentException($"MaskedLanguageModeling.Mask: the vocabulary has no tokens besides the special ones.");

        int n = ids.Length;
        var selected = RandomDraws.Coins(generator, n, probability);
        var action = RandomDraws.Below(generator, n, 10);          // 0-7: [MASK], 8: random token, 9: keep
        var replacement = RandomDraws.Below(generator, n, ordinary);
        var inputs = ids.ToArray();
        var labels = new long[n];
        for (int i = 0; i < n; i++)
        {
            long id = ids[i];
            if (tokenizer.IsSpecial(id) || !selected[i])
            {
                labels[i] = IgnoreIndex;
                continue;
            }
            labels[i] = id;
            if (action[i] < 8) inputs[i] = tokenizer.MaskId;
            else if (action[i] == 8) inputs[i] = OrdinaryToken(replacement[i], special);
        }
        return new MaskedTokens(inputs, labels);
    }

    /// <summary>The <paramref name="k"/>-th id that is not special (the special ids sorted): k, moved past every special id at or below it.</summary>
    private static long OrdinaryToken(long k, long[] sortedSpecial)
    {
        long id = k;
        foreach (long s in sortedSpecial)
            if (id >= s) id++;
        return id;
    }
}
