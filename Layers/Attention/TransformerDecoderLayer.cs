namespace Tensorium.Layers;

/// <summary>
/// One transformer decoder block (torch.nn.TransformerDecoderLayer): causal self-attention over
/// the target, cross-attention from the target to the encoder's output (memory), and a
/// feed-forward network, each with a residual connection and LayerNorm (post-norm by default,
/// pre-norm with <c>normFirst</c>; see <see cref="TransformerEncoderLayer"/>). Children carry
/// PyTorch's names (self_attn, multihead_attn, linear1, linear2, norm1..3, dropout, dropout1..3).
/// </summary>
public sealed class TransformerDecoderLayer : Module
{
    private readonly MultiHeadAttention _selfAttn, _crossAttn;
    private readonly Linear _linear1, _linear2;
    private readonly LayerNorm _norm1, _norm2, _norm3;
    private readonly Dropout _dropout, _dropout1, _dropout2, _dropout3;
    private readonly string _activation;

    /// <summary>Creates the block; parameters as for <see cref="TransformerEncoderLayer"/>.</summary>
    /// <param name="dModel">Model width.</param>
    /// <param name="nHead">Attention heads (must divide dModel).</param>
    /// <param name="dimFeedforward">Hidden width of the feed-forward network.</param>
    /// <param name="dropout">Dropout probability used throughout the block.</param>
    /// <param name="activation">"relu" or "gelu".</param>
    /// <param name="normFirst">Pre-norm when true, post-norm when false.</param>
    /// <param name="layerNormEps">LayerNorm eps.</param>
    /// <param name="batchFirst">Inputs are [B, L, dModel] when true, [L, B, dModel] when false.</param>
    /// <param name="bias">Whether linear layers and LayerNorms have biases.</param>
    /// <param name="generator">Random source for weights and dropout.</param>
    public TransformerDecoderLayer(int dModel, int nHead, int dimFeedforward = 2048, double dropout = 0.1, string activation = "relu",
        bool normFirst = false, double layerNormEps = 1e-5, bool batchFirst = true, bool bias = true, Generator? generator = null)
    {
        if (dimFeedforward <= 0) throw new ArgumentException($"TransformerDecoderLayer: dimFeedforward must be positive, got {dimFeedforward}.");
        _activation = FeedForward.CheckActivation("TransformerDecoderLayer", activation);
        NormFirst = normFirst;
        _selfAttn = RegisterModule("self_attn", new MultiHeadAttention(dModel, nHead, dropout, bias, batchFirst, generator));
        _crossAttn = RegisterModule("multihead_attn", new MultiHeadAttention(dModel, nHead, dropout, bias, batchFirst, generator));
        _linear1 = RegisterModule("linear1", new Linear(dModel, dimFeedforward, bias, generator));
        _dropout = RegisterModule("dropout", new Dropout(dropout, generator));
        _linear2 = RegisterModule("linear2", new Linear(dimFeedforward, dModel, bias, generator));
        _norm1 = RegisterModule("norm1", new LayerNorm(dModel, layerNormEps, bias: bias));
        _norm2 = RegisterModule("norm2", new LayerNorm(dModel, layerNormEps, bias: bias));
        _norm3 = RegisterModule("norm3", new LayerNorm(dModel, layerNormEps, bias: bias));
        _dropout1 = RegisterModule("dropout1", new Dropout(dropout, generator));
        _dropout2 = RegisterModule("dropout2", new Dropout(dropout, generator));
        _dropout3 = RegisterModule("dropout3", new Dropout(dropout, generator));
    }

    /// <summary>Pre-norm (true) or post-norm (false).</summary>
    public bool NormFirst { get; }
    /// <summary>The target self-attention sublayer.</summary>
    public MultiHeadAttention SelfAttn => _selfAttn;
    /// <summary>The cross-attention sublayer (queries from the target, keys and values from memory).</summary>
    public MultiHeadAttention MultiheadAttn => _crossAttn;

    /// <summary>A decoder block needs the encoder's output: use <see cref="Forward(Tensor, Tensor, bool, Tensor?, Tensor?, Tensor?, Tensor?)"/>.</summary>
    public override Tensor Forward(Tensor input) =>
        throw new NotSupportedException($"TransformerDecoderLayer: Forward needs the target and the memory (encoder output), got only one tensor {Layout.Format(input.Layout.Shape)}; call Forward(tgt, memory, ...).");

    /// <summary>
    /// The block on target <paramref name="tgt"/> [B, Lt, dModel] attending to
    /// <paramref name="memory"/> [B, Lm, dModel].
    /// </summary>
    /// <param name="tgt">The target sequence.</param>
    /// <param name="memory">The encoder output the target attends to.</param>
    /// <param name="tgtCausal">Target position i sees only target positions &lt;= i. On by default, unlike PyTorch's tgt_is_causal: a decoder almost always needs it.</param>
    /// <param name="memoryKeyPaddingMask">[B, Lm]: non-zero marks padded memory positions.</param>
    /// <param name="tgtMask">Extra self-attention mask ([Lt, Lt], additive or integer non-zero = hidden).</param>
    /// <param name="tgtKeyPaddingMask">[B, Lt]: non-zero marks padded target positions.</param>
    /// <param name="memoryMask">Cross-attention mask [Lt, Lm].</param>
    public Tensor Forward(Tensor tgt, Tensor memory, bool tgtCausal = true, Tensor? memoryKeyPaddingMask = null,
        Tensor? tgtMask = null, Tensor? tgtKeyPaddingMask = null, Tensor? memoryMask = null)
    {
        if (NormFirst)
        {
            using var normed1 = _norm1.Forward(tgt);
            using var selfAttended = Attend(_selfAttn, _dropout1, normed1, normed1, tgtMask, tgtKeyPaddingMask, tgtCausal);
            using var x1 = tgt + selfAttended;
            using var normed2 = _norm2.Forward(x1);
            using var crossAttended = Attend(_crossAttn, _dropout2, normed2, memory, memoryMask, memoryKeyPaddingMask, false);
            using var x2 = x1 + crossAttended;
            using var normed3 = _norm3.Forward(x2);
            using var fed = FeedForwardBlock(normed3);
            return x2 + fed;
        }
        else
        {
            using var selfAttended = Attend(_selfAttn, _dropout1, tgt, tgt, tgtMask, tgtKeyPaddingMask, tgtCausal);
            using var residual1 = tgt + selfAttended;
            using var x1 = _norm1.Forward(residual1);
            using var crossAttended = Attend(_crossAttn, _dropout2, x1, memory, memoryMask, memoryKeyPaddingMask, false);
            using var residual2 = x1 + crossAttended;
            using var x2 = _norm2.Forward(residual2);
            using var fed = FeedForwardBlock(x2);
            using var residual3 = x2 + fed;
            return _norm3.Forward(residual3);
        }
    }

    private static Tensor Attend(MultiHeadAttention attention, Dropout dropout, Tensor query, Tensor keyValue, Tensor? mask, Tensor? keyPaddingMask, bool causal)
    {
        using var attended = attention.Forward(query, keyValue, keyValue, mask, keyPaddingMask, causal);
        return dropout.Forward(attended);
    }

    private Tensor FeedForwardBlock(Tensor x)
    {
        using var fed = FeedForward.Apply(x, _linear1, _activation, _dropout, _linear2);
        return _dropout3.Forward(fed);
    }
}
