using Tensorium.Layers;

namespace Tensorium.Bert;

/// <summary>
/// One post-norm BERT encoder layer (Hugging Face's BertLayer):
/// a = LayerNorm(x + dropout(dense(selfattention(x)))), then
/// y = LayerNorm(a + dropout(dense(GELU(dense(a))))), with the exact (erf) GELU.
/// Hugging Face nests these pieces in modules of their own (attention.self, attention.output,
/// intermediate, output) that only hold the Linears and LayerNorms; registering each piece
/// under its dotted path gives the same parameter names with one class.
/// </summary>
public sealed class BertLayer : Module
{
    private readonly BertSelfAttention _selfAttention;
    private readonly Linear _attentionDense, _intermediate, _output;
    private readonly LayerNorm _attentionNorm, _outputNorm;
    private readonly Dropout _attentionDropout, _outputDropout;

    /// <summary>Builds the layer for <paramref name="config"/>.</summary>
    public BertLayer(BertConfig config, Generator? generator = null)
    {
        int h = config.HiddenSize;
        _selfAttention = RegisterModule("attention.self", new BertSelfAttention(config, generator));
        _attentionDense = RegisterModule("attention.output.dense", BertInit.Linear(h, h, generator));
        _attentionNorm = RegisterModule("attention.output.LayerNorm", new LayerNorm(h, config.LayerNormEps));
        _attentionDropout = RegisterModule("attention.output.dropout", new Dropout(config.HiddenDropoutProb, generator));
        _intermediate = RegisterModule("intermediate.dense", BertInit.Linear(h, config.IntermediateSize, generator));
        _output = RegisterModule("output.dense", BertInit.Linear(config.IntermediateSize, h, generator));
        _outputNorm = RegisterModule("output.LayerNorm", new LayerNorm(h, config.LayerNormEps));
        _outputDropout = RegisterModule("output.dropout", new Dropout(config.HiddenDropoutProb, generator));
    }

    /// <summary>The layer without an attention mask.</summary>
    public override Tensor Forward(Tensor input) => Forward(input, null);

    /// <summary>The layer on <paramref name="hidden"/> [B, L, H]; <paramref name="additiveMask"/> is added to the attention scores.</summary>
    public Tensor Forward(Tensor hidden, Tensor? additiveMask)
    {
        using var attended = _selfAttention.Forward(hidden, additiveMask);
        using var attention = AddAndNorm(_attentionDense, _attentionDropout, _attentionNorm, attended, hidden);
        using var inner = _intermediate.Forward(attention);
        using var activated = inner.Gelu();
        return AddAndNorm(_output, _outputDropout, _outputNorm, activated, attention);
    }

    /// <summary>LayerNorm(residual + dropout(dense(x))): Hugging Face's BertSelfOutput and BertOutput.</summary>
    private static Tensor AddAndNorm(Linear dense, Dropout dropout, LayerNorm norm, Tensor x, Tensor residual)
    {
        using var projected = dense.Forward(x);
        using var dropped = dropout.Forward(projected);
        using var sum = dropped + residual;
        return norm.Forward(sum);
    }
}
