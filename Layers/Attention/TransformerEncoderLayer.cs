namespace Tensorium.Layers;

/// <summary>
/// One transformer encoder block (torch.nn.TransformerEncoderLayer): self-attention, then a
/// position-wise feed-forward network, each wrapped in a residual connection and LayerNorm.
/// Post-norm (the original paper, PyTorch's default): x = norm(x + sublayer(x)).
/// Pre-norm (<c>normFirst</c>, what most modern models use because it trains more stably):
/// x = x + sublayer(norm(x)). Children carry PyTorch's names (self_attn, linear1, linear2,
/// norm1, norm2, dropout, dropout1, dropout2), so state dicts line up. Inputs are [B, L, dModel]
/// by default (batchFirst; PyTorch's default is [L, B, dModel]).
/// </summary>
public sealed class TransformerEncoderLayer : Module
{
    private readonly MultiHeadAttention _selfAttn;
    private readonly Linear _linear1, _linear2;
    private readonly LayerNorm _norm1, _norm2;
    private readonly Dropout _dropout, _dropout1, _dropout2;
    private readonly string _activation;

    /// <summary>Creates the block.</summary>
    /// <param name="dModel">Model width.</param>
    /// <param name="nHead">Attention heads (must divide dModel).</param>
    /// <param name="dimFeedforward">Hidden width of the feed-forward network.</param>
    /// <param name="dropout">Dropout after attention, inside and after the feed-forward network, and on attention weights.</param>
    /// <param name="activation">"relu" or "gelu".</param>
    /// <param name="normFirst">Pre-norm when true, post-norm when false.</param>
    /// <param name="layerNormEps">LayerNorm eps.</param>
    /// <param name="batchFirst">Inputs are [B, L, dModel] when true, [L, B, dModel] when false.</param>
    /// <param name="bias">Whether linear layers and LayerNorms have biases.</param>
    /// <param name="generator">Random source for weights and dropout.</param>
    public TransformerEncoderLayer(int dModel, int nHead, int dimFeedforward = 2048, double dropout = 0.1, string activation = "relu",
        bool normFirst = false, double layerNormEps = 1e-5, bool batchFirst = true, bool bias = true, Generator? generator = null)
    {
        if (dimFeedforward <= 0) throw new ArgumentException($"TransformerEncoderLayer: dimFeedforward must be positive, got {dimFeedforward}.");
        _activation = FeedForward.CheckActivation("TransformerEncoderLayer", activation);
        NormFirst = normFirst;
        _selfAttn = RegisterModule("self_attn", new MultiHeadAttention(dModel, nHead, dropout, bias, batchFirst, generator));
        _linear1 = RegisterModule("linear1", new Linear(dModel, dimFeedforward, bias, generator));
        _dropout = RegisterModule("dropout", new Dropout(dropout, generator));
        _linear2 = RegisterModule("linear2", new Linear(dimFeedforward, dModel, bias, generator));
        _norm1 = RegisterModule("norm1", new LayerNorm(dModel, layerNormEps, bias: bias));
        _norm2 = RegisterModule("norm2", new LayerNorm(dModel, layerNormEps, bias: bias));
        _dropout1 = RegisterModule("dropout1", new Dropout(dropout, generator));
        _dropout2 = RegisterModule("dropout2", new Dropout(dropout, generator));
    }

    /// <summary>Pre-norm (true) or post-norm (false).</summary>
    public bool NormFirst { get; }
    /// <summary>The self-attention sublayer.</summary>
    public MultiHeadAttention SelfAttn => _selfAttn;

    /// <summary>The block without masks.</summary>
    public override Tensor Forward(Tensor input) => Forward(input, null, null, false);

    /// <summary>
    /// The block on <paramref name="src"/> [B, L, dModel]. <paramref name="srcMask"/> is an
    /// attention mask ([L, L] additive, or integer with non-zero = hidden),
    /// <paramref name="srcKeyPaddingMask"/> [B, L] marks padded positions (non-zero), and
    /// <paramref name="isCausal"/> lets position i attend only to positions &lt;= i.
    /// </summary>
    public Tensor Forward(Tensor src, Tensor? srcMask = null, Tensor? srcKeyPaddingMask = null, bool isCausal = false)
    {
        if (NormFirst)
        {
            using var normed1 = _norm1.Forward(src);
            using var attended = SelfAttention(normed1, srcMask, srcKeyPaddingMask, isCausal);
            using var x = src + attended;
            using var normed2 = _norm2.Forward(x);
            using var fed = FeedForwardBlock(normed2);
            return x + fed;
        }
        else
        {
            using var attended = SelfAttention(src, srcMask, srcKeyPaddingMask, isCausal);
            using var residual1 = src + attended;
            using var x = _norm1.Forward(residual1);
            using var fed = FeedForwardBlock(x);
            using var residual2 = x + fed;
            return _norm2.Forward(residual2);
        }
    }

    private Tensor SelfAttention(Tensor x, Tensor? mask, Tensor? keyPaddingMask, bool causal)
    {
        using var attended = _selfAttn.Forward(x, x, x, mask, keyPaddingMask, causal);
        return _dropout1.Forward(attended);
    }

    private Tensor FeedForwardBlock(Tensor x)
    {
        using var fed = FeedForward.Apply(x, _linear1, _activation, _dropout, _linear2);
        return _dropout2.Forward(fed);
    }
}
