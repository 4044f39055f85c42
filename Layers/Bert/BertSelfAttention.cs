using Tensorium.Layers;

namespace Tensorium.Bert;

/// <summary>
/// BERT's multi-head self-attention (Hugging Face's BertSelfAttention): separate <c>query</c>,
/// <c>key</c> and <c>value</c> Linears (H to H), split into heads, softmax(Q Kᵀ / sqrt(d) + mask)
/// V per head, heads joined again. The output projection belongs to the layer
/// (<c>attention.output.dense</c>), as in Hugging Face. <see cref="MultiHeadAttention"/> packs the
/// three projections into one in_proj_weight, which would need renaming and splitting on every
/// load and save; three Linears keep Hugging Face's names as they are, and the attention itself
/// is the same op (<see cref="AttentionOp.ScaledDotProductAttention"/>).
/// </summary>
public sealed class BertSelfAttention : Module
{
    private readonly Linear _query, _key, _value;
    private readonly Dropout _dropout;
    private readonly int _heads, _headDim;

    /// <summary>Builds the attention for <paramref name="config"/>.</summary>
    public BertSelfAttention(BertConfig config, Generator? generator = null)
    {
        _heads = config.NumAttentionHeads;
        _headDim = config.HiddenSize / _heads;
        _query = RegisterModule("query", BertInit.Linear(config.HiddenSize, config.HiddenSize, generator));
        _key = RegisterModule("key", BertInit.Linear(config.HiddenSize, config.HiddenSize, generator));
        _value = RegisterModule("value", BertInit.Linear(config.HiddenSize, config.HiddenSize, generator));
        _dropout = RegisterModule("dropout", new Dropout(config.AttentionProbsDropoutProb, generator));
    }

    /// <summary>Attention of every position over every position, without a mask.</summary>
    public override Tensor Forward(Tensor input) => Forward(input, null);

    /// <summary>
    /// Attends <paramref name="hidden"/> [B, L, H] over itself; <paramref name="additiveMask"/>
    /// (broadcastable to [B, heads, L, L], e.g. [B, 1, 1, L] from
    /// <see cref="BertModel.ExtendedAttentionMask"/>) is added to the scores. [B, L, H].
    /// </summary>
    public Tensor Forward(Tensor hidden, Tensor? additiveMask)
    {
        int b = hidden.Layout.Shape[0], length = hidden.Layout.Shape[1];
        using var q = Heads(_query, hidden);
        using var k = Heads(_key, hidden);
        using var v = Heads(_value, hidden);
        // Dropout acts on the probabilities, so in training with dropout they are computed here;
        // otherwise the fused kernel, which never stores the [L, L] scores, does the same sums.
        using var context = IsTraining && _dropout.P > 0
            ? AttendWithDropout(q, k, v, additiveMask)
            : AttentionOp.ScaledDotProductAttention(q, k, v, additiveMask);
        using var joined = context.Transpose(1, 2);                     // [B, L, heads, d]
        return joined.Reshape(b, length, _heads * _headDim);
    }

    /// <summary>x W + b, split into heads: [B, heads, L, d].</summary>
    private Tensor Heads(Linear projection, Tensor x)
    {
        using var projected = projection.Forward(x);
        using var split = projected.Reshape(x.Layout.Shape[0], x.Layout.Shape[1], _heads, _headDim);
        return split.Transpose(1, 2);
    }

    private Tensor AttendWithDropout(Tensor q, Tensor k, Tensor v, Tensor? mask)
    {
        using var kT = k.Transpose(-2, -1);
        using var raw = q.MatMul(kT);
        using var scores = raw * (1 / Math.Sqrt(_headDim));
        using var masked = mask == null ? null : scores + mask;
        using var probabilities = (masked ?? scores).Softmax(-1);
        using var dropped = _dropout.Forward(probabilities);
        return dropped.MatMul(v);
    }
}
