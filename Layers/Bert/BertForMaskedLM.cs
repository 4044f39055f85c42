using Tensorium.Layers;

namespace Tensorium.Bert;

/// <summary>
/// BERT with the masked-language-model head (Hugging Face's BertForMaskedLM): the encoder (no
/// pooler) under <c>bert.</c>, then <c>cls.predictions</c>: a transform LayerNorm(GELU(dense(h)))
/// and a decoder whose weight is the word embedding table (tied: one tensor, trained by both
/// ends, saved once) plus a bias of its own, <c>cls.predictions.bias</c>. [B, L] ids to
/// [B, L, vocabulary] logits.
/// </summary>
public sealed class BertForMaskedLM : Module
{
    private readonly BertModel _bert;
    private readonly Linear _transform;
    private readonly LayerNorm _transformNorm;
    private readonly Tensor _bias;

    /// <summary>Builds the model for <paramref name="config"/>.</summary>
    public BertForMaskedLM(BertConfig config, Generator? generator = null)
    {
        _bert = RegisterModule("bert", new BertModel(config, addPoolingLayer: false, generator));
        // Hugging Face's cls -> predictions -> transform nesting, as dotted names (see BertLayer).
        _transform = RegisterModule("cls.predictions.transform.dense", BertInit.Linear(config.HiddenSize, config.HiddenSize, generator));
        _transformNorm = RegisterModule("cls.predictions.transform.LayerNorm", new LayerNorm(config.HiddenSize, config.LayerNormEps));
        _bias = RegisterParameter("cls.predictions.bias", Tensor.Zeros([config.VocabSize]));
    }

    /// <summary>The encoder.</summary>
    public BertModel Bert => _bert;
    /// <summary>The sizes this model was built with.</summary>
    public BertConfig Config => _bert.Config;

    /// <summary>MLM logits [B, L, vocabulary] of ids [B, L] in segment 0, [PAD] masked out (see <see cref="BertModel.Forward(Tensor)"/>).</summary>
    public override Tensor Forward(Tensor input)
    {
        using var notPadding = _bert.PaddingAttentionMask(input);
        return Forward(input, null, notPadding);
    }

    /// <summary>MLM logits [B, L, vocabulary]; the arguments are <see cref="BertModel.Forward(Tensor, Tensor?, Tensor?)"/>'s.</summary>
    public Tensor Forward(Tensor inputIds, Tensor? tokenTypeIds, Tensor? attentionMask)
    {
        using var hidden = _bert.Forward(inputIds, tokenTypeIds, attentionMask);
        return Predictions(hidden);
    }

    /// <summary>
    /// The MLM logits [N, vocabulary] at <paramref name="positions"/> only: int64 [N] indices into
    /// the flattened [B * L] positions (row-major), e.g. the masked ones. The same values as those
    /// rows of <see cref="Forward(Tensor, Tensor?, Tensor?)"/>, for much less work in pretraining,
    /// where the decoder (H x vocabulary per position) is the largest product and only about 15% of
    /// the positions have a label.
    /// </summary>
    public Tensor ForwardAt(Tensor inputIds, Tensor? tokenTypeIds, Tensor? attentionMask, Tensor positions)
    {
        using var hidden = _bert.Forward(inputIds, tokenTypeIds, attentionMask);
        using var flat = hidden.Reshape(-1, hidden.Layout.Shape[2]);
        using var picked = flat.IndexSelect(0, positions);
        return Predictions(picked);
    }

    /// <summary>cls.predictions on hidden states [..., H]: transform, then the tied decoder and its bias.</summary>
    private Tensor Predictions(Tensor hidden)
    {
        using var dense = _transform.Forward(hidden);
        using var activated = dense.Gelu();
        using var transformed = _transformNorm.Forward(activated);
        using var decoderWeight = _bert.Embeddings.WordWeight.T;      // tied to the word embeddings
        using var logits = transformed.MatMul(decoderWeight);
        return logits + _bias;
    }
}
