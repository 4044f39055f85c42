using Tensorium.Layers;

namespace Tensorium.Bert;

/// <summary>
/// The BERT encoder (Hugging Face's BertModel): <see cref="BertEmbeddings"/>, a stack of
/// post-norm <see cref="BertLayer"/>s, and optionally the pooler, tanh(dense(h[CLS])), the
/// sentence vector classification heads read. Parameter names are Hugging Face's
/// (<c>embeddings.*</c>, <c>encoder.layer.N.*</c>, <c>pooler.dense.*</c>); inside
/// <see cref="BertForMaskedLM"/> and <see cref="BertForSequenceClassification"/> they get the
/// prefix <c>bert.</c>, as there. Load Hugging Face weights with <see cref="BertCheckpoint"/>.
/// </summary>
public sealed class BertModel : Module
{
    private readonly BertEmbeddings _embeddings;
    private readonly Sequential _layers;
    private readonly Linear? _pooler;

    /// <summary>Builds the encoder; <paramref name="addPoolingLayer"/> as Hugging Face's add_pooling_layer (false in BertForMaskedLM).</summary>
    public BertModel(BertConfig config, bool addPoolingLayer = true, Generator? generator = null)
    {
        Config = config.Validate();
        _embeddings = RegisterModule("embeddings", new BertEmbeddings(config, generator));
        // A Sequential serves as the ModuleList (names encoder.layer.0, encoder.layer.1, ...); its own Forward is not used.
        _layers = RegisterModule("encoder.layer", new Sequential());
        for (int i = 0; i < config.NumHiddenLayers; i++) _layers.Add(new BertLayer(config, generator));
        if (addPoolingLayer) _pooler = RegisterModule("pooler.dense", BertInit.Linear(config.HiddenSize, config.HiddenSize, generator));
    }

    /// <summary>The sizes this model was built with.</summary>
    public BertConfig Config { get; }
    /// <summary>Whether the model has the pooler.</summary>
    public bool HasPooler => _pooler != null;
    /// <summary>The embeddings (their word table is the masked-LM decoder's weight).</summary>
    public BertEmbeddings Embeddings => _embeddings;

    /// <summary>
    /// The last hidden state [B, L, H] of ids [B, L] in segment 0, with every [PAD] (the config's
    /// pad_token_id) masked out: the single-input form that <see cref="Module.Predict"/> and the
    /// Trainer call. (Hugging Face masks nothing when no mask is given; pass one explicitly to the
    /// three-argument form for that.)
    /// </summary>
    public override Tensor Forward(Tensor input)
    {
        using var notPadding = PaddingAttentionMask(input);
        return Forward(input, null, notPadding);
    }

    /// <summary>The attention mask of <paramref name="inputIds"/>: 1 for tokens, 0 for [PAD] (the config's pad_token_id).</summary>
    public Tensor PaddingAttentionMask(Tensor inputIds) => inputIds.Ne(Config.PadTokenId);

    /// <summary>
    /// The last hidden state [B, L, H] (Hugging Face's last_hidden_state) of
    /// <paramref name="inputIds"/> [B, L]; <paramref name="tokenTypeIds"/> [B, L] are the segments
    /// (null: all 0) and <paramref name="attentionMask"/> [B, L] is 1 for real tokens and 0 for
    /// padding, which no position attends to (null: no padding).
    /// </summary>
    public Tensor Forward(Tensor inputIds, Tensor? tokenTypeIds, Tensor? attentionMask)
    {
        using var mask = attentionMask == null ? null : ExtendedAttentionMask(attentionMask, inputIds, _embeddings.WordWeight.DType);
        var x = _embeddings.Forward(inputIds, tokenTypeIds);
        try
        {
            foreach (BertLayer layer in _layers.Layers)
            {
                var next = layer.Forward(x, mask);
                x.Dispose();   // the tape keeps what backward needs
                x = next;
            }
            return x;
        }
        catch
        {
            x.Dispose();   // a layer failed: the hidden state it was given is ours to free
            throw;
        }
    }

    /// <summary>The pooled output [B, H]: tanh(dense(h[:, 0])), the [CLS] position of <paramref name="lastHiddenState"/>.</summary>
    public Tensor Pool(Tensor lastHiddenState)
    {
        if (_pooler == null) throw new InvalidOperationException("BertModel.Pool: this model was built without the pooler (addPoolingLayer: false).");
        using var first = lastHiddenState.Narrow(1, 0, 1);
        using var cls = first.Squeeze(1);
        using var dense = _pooler.Forward(cls);
        return dense.Tanh();
    }

    /// <summary>
    /// Hugging Face's extended attention mask: (1 - mask) times the dtype's most negative value,
    /// shaped [B, 1, 1, L] so it adds to every head's and every query's scores. A large finite
    /// value rather than -inf, as there, so a row of padding only (which never occurs after
    /// [CLS]) gives uniform weights instead of NaN.
    /// </summary>
    public static Tensor ExtendedAttentionMask(Tensor attentionMask, Tensor inputIds, DType dtype)
    {
        if (!attentionMask.Layout.Shape.SequenceEqual(inputIds.Layout.Shape))
            throw new ArgumentException($"BertModel: attention mask {Layout.Format(attentionMask.Layout.Shape)} must have the input ids' shape {Layout.Format(inputIds.Layout.Shape)}.");
        using var noGrad = Tape.NoGrad();
        using var padding = attentionMask.Eq(0);
        using var zeros = Tensor.Zeros(attentionMask.Shape, dtype, attentionMask.Device);
        using var additive = zeros.MaskedFill(padding, dtype == DType.Float64 ? double.MinValue : float.MinValue);
        return additive.Reshape(attentionMask.Layout.Shape[0], 1, 1, attentionMask.Layout.Shape[1]);
    }
}
