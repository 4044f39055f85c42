namespace Tensorium.Layers;

/// <summary>
/// Multi-head attention (torch.nn.MultiheadAttention): queries, keys and values are projected,
/// split into <see cref="NumHeads"/> heads of size embedDim / numHeads, attended with
/// softmax(Q Kᵀ / sqrt(d) + mask) V per head, joined again and projected by <c>out_proj</c>.
/// <para>
/// Parameters follow PyTorch's names and initialisation so state dicts line up: one packed
/// <c>in_proj_weight</c> [3E, E] (rows: query, key, value projections; Glorot uniform),
/// <c>in_proj_bias</c> [3E] (zeros), and <c>out_proj</c> (a Linear with zero bias). With keys or
/// values of another width (PyTorch's <c>kdim</c>/<c>vdim</c>) the projections are separate, as
/// there: <c>q_proj_weight</c> [E, E], <c>k_proj_weight</c> [E, kdim], <c>v_proj_weight</c>
/// [E, vdim] (each Glorot uniform), with the packed <c>in_proj_bias</c> kept.
/// </para>
/// <para>
/// <see cref="ForwardWithWeights"/> also returns the attention weights (PyTorch's need_weights),
/// averaged over the heads or per head.
/// </para>
/// <para>
/// Attention runs on the flash-style kernel (<see cref="AttentionOp.ScaledDotProductAttention"/>)
/// which never stores the score matrix. Dropout on the attention probabilities needs them, so
/// in training with dropout &gt; 0 the layer computes the scores explicitly instead.
/// </para>
/// </summary>
public sealed class MultiHeadAttention : Module
{
    private readonly Tensor? _inProjWeight, _qProjWeight, _kProjWeight, _vProjWeight;
    private readonly Tensor? _inProjBias;
    private readonly Linear _outProj;
    private readonly Dropout _dropout;

    /// <summary>Creates the layer; <paramref name="generator"/> seeds the weights and the dropout masks.</summary>
    /// <param name="embedDim">Model width E of queries, keys, values and output.</param>
    /// <param name="numHeads">Heads; must divide <paramref name="embedDim"/>.</param>
    /// <param name="dropout">Dropout probability on the attention weights (training only).</param>
    /// <param name="bias">Whether the input and output projections have biases.</param>
    /// <param name="batchFirst">Inputs are [B, L, E] when true (the default here), [L, B, E] when false.</param>
    /// <param name="generator">Random source for initial weights and dropout.</param>
    /// <param name="kdim">Width of the keys (null: embedDim), PyTorch's kdim.</param>
    /// <param name="vdim">Width of the values (null: embedDim), PyTorch's vdim.</param>
    public MultiHeadAttention(int embedDim, int numHeads, double dropout = 0, bool bias = true, bool batchFirst = true, Generator? generator = null,
        int? kdim = null, int? vdim = null)
    {
        if (embedDim <= 0 || numHeads <= 0 || embedDim % numHeads != 0)
            throw new ArgumentException($"MultiHeadAttention: embedDim must be a positive multiple of numHeads, got embedDim {embedDim}, numHeads {numHeads}.");
        if (kdim <= 0 || vdim <= 0)
            throw new ArgumentException($"MultiHeadAttention: kdim and vdim must be positive, got kdim {kdim}, vdim {vdim}.");
        EmbedDim = embedDim;
        NumHeads = numHeads;
        HeadDim = embedDim / numHeads;
        BatchFirst = batchFirst;
        KDim = kdim ?? embedDim;
        VDim = vdim ?? embedDim;
        if (KDim == embedDim && VDim == embedDim)
            _inProjWeight = RegisterParameter("in_proj_weight", Init.GlorotUniform([3 * embedDim, embedDim], generator));
        else
        {
            // PyTorch's _qkv_same_embed_dim = False: three weights, registered in this order.
            _qProjWeight = RegisterParameter("q_proj_weight", Init.GlorotUniform([embedDim, embedDim], generator));
            _kProjWeight = RegisterParameter("k_proj_weight", Init.GlorotUniform([embedDim, KDim], generator));
            _vProjWeight = RegisterParameter("v_proj_weight", Init.GlorotUniform([embedDim, VDim], generator));
        }
        _inProjBias = bias ? RegisterParameter("in_proj_bias", Tensor.Zeros([3 * embedDim])) : null;
        _outProj = RegisterModule("out_proj", new Linear(embedDim, embedDim, bias, generator));
        if (_outProj.Bias is { } outBias)
            using (Tape.NoGrad())
            using (var zero = Tensor.Zeros([embedDim]))
                outBias.CopyFrom(zero);     // PyTorch zeroes out_proj.bias too
        _dropout = RegisterModule("dropout", new Dropout(dropout, generator));
    }

    /// <summary>Model width E.</summary>
    public int EmbedDim { get; }
    /// <summary>Number of heads.</summary>
    public int NumHeads { get; }
    /// <summary>Width of the keys (kdim).</summary>
    public int KDim { get; }
    /// <summary>Width of the values (vdim).</summary>
    public int VDim { get; }
    /// <summary>Width of each head (E / heads).</summary>
    public int HeadDim { get; }
    /// <summary>Whether inputs are [B, L, E] (true) or [L, B, E].</summary>
    public bool BatchFirst { get; }
    /// <summary>Dropout probability on the attention weights.</summary>
    public double DropoutP => _dropout.P;
    /// <summary>[3E, E] packed query/key/value projection weights, or null when kdim or vdim differ from E.</summary>
    public Tensor? InProjWeight => _inProjWeight;
    /// <summary>[E, E] query projection when the projections are separate (kdim or vdim not E), else null.</summary>
    public Tensor? QProjWeight => _qProjWeight;
    /// <summary>[E, kdim] key projection when the projections are separate, else null.</summary>
    public Tensor? KProjWeight => _kProjWeight;
    /// <summary>[E, vdim] value projection when the projections are separate, else null.</summary>
    public Tensor? VProjWeight => _vProjWeight;
    private Tensor AnyWeight => _inProjWeight ?? _qProjWeight!;
    /// <summary>[3E] packed projection biases, or null.</summary>
    public Tensor? InProjBias => _inProjBias;
    /// <summary>The output projection.</summary>
    public Linear OutProj => _outProj;

    /// <summary>Self-attention without masks: Forward(x, x, x).</summary>
    public override Tensor Forward(Tensor input) => Forward(input, input, input);

    /// <summary>
    /// Attention of <paramref name="query"/> over <paramref name="key"/>/<paramref name="value"/>
    /// (pass the same tensor three times for self-attention, another sequence as key and value
    /// for cross-attention). Shapes with batchFirst: query [B, Lq, E], key and value [B, Lk, E]
    /// (or unbatched [L, E]); the result has the query's shape.
    /// </summary>
    /// <param name="query">Queries.</param>
    /// <param name="key">Keys.</param>
    /// <param name="value">Values.</param>
    /// <param name="attnMask">[Lq, Lk], [B*heads, Lq, Lk] or anything broadcastable to [B, heads, Lq, Lk]: additive when floating, "non-zero hides" when integer.</param>
    /// <param name="keyPaddingMask">[B, Lk]: non-zero marks a padded key that no query may see.</param>
    /// <param name="causal">Query i sees only keys j &lt;= i.</param>
    public Tensor Forward(Tensor query, Tensor key, Tensor value, Tensor? attnMask = null, Tensor? keyPaddingMask = null, bool causal = false) =>
        Attend(query, key, value, attnMask, keyPaddingMask, causal, weights: null).Output;

    /// <summary>
    /// <see cref="Forward(Tensor, Tensor, Tensor, Tensor?, Tensor?, bool)"/> that also returns the
    /// attention weights, as PyTorch's need_weights=True: softmax(Q Kᵀ / sqrt(d) + mask) (after
    /// dropout in training, as there), [B, Lq, Lk] averaged over the heads when
    /// <paramref name="averageAttnWeights"/>, else [B, heads, Lq, Lk] ([Lq, Lk] or [heads, Lq, Lk]
    /// for unbatched input). Both tensors are the caller's and both carry gradients. The scores are
    /// materialised, so this is slower than Forward on long sequences.
    /// </summary>
    public (Tensor Output, Tensor Weights) ForwardWithWeights(Tensor query, Tensor key, Tensor value, Tensor? attnMask = null, Tensor? keyPaddingMask = null,
        bool causal = false, bool averageAttnWeights = true)
    {
        var (output, weights) = Attend(query, key, value, attnMask, keyPaddingMask, causal, averageAttnWeights);
        return (output, weights!);
    }

    /// <summary>The attention; <paramref name="weights"/> null: no weights (flash kernel unless dropout), else return them averaged (true) or per head.</summary>
    private (Tensor Output, Tensor? Weights) Attend(Tensor query, Tensor key, Tensor value, Tensor? attnMask, Tensor? keyPaddingMask, bool causal, bool? weights)
    {
        bool batched = query.Rank == 3;
        if (query.Rank is not (2 or 3) || key.Rank != query.Rank || value.Rank != query.Rank)
            throw new ArgumentException($"MultiHeadAttention: expected query, key and value all [B, L, E] or all unbatched [L, E] (E = {EmbedDim}, {KDim}, {VDim}), got {Shapes(query, key, value)}.");
        if (query.DType != AnyWeight.DType || key.DType != query.DType || value.DType != query.DType)
            throw new ArgumentException($"MultiHeadAttention: expected query, key and value of the weights' dtype {AnyWeight.DType.Name()}, got {query.DType.Name()}, {key.DType.Name()}, {value.DType.Name()}.");

        // Bring everything to [B, L, E]: one code path for batched/unbatched and batch-first or not.
        // (ToBatchFirst returns null when the tensor already has that layout.)
        using var qMoved = ToBatchFirst(query, batched);
        using var kMoved = ToBatchFirst(key, batched);
        using var vMoved = ToBatchFirst(value, batched);
        Tensor q = qMoved ?? query, k = kMoved ?? key, v = vMoved ?? value;
        int b = q.Layout.Shape[0], lq = q.Layout.Shape[1], lk = k.Layout.Shape[1];
        if (q.Layout.Shape[2] != EmbedDim || k.Layout.Shape[2] != KDim || v.Layout.Shape[2] != VDim
            || k.Layout.Shape[0] != b || v.Layout.Shape[0] != b || v.Layout.Shape[1] != lk)
            throw new ArgumentException($"MultiHeadAttention: expected query [B, Lq, {EmbedDim}], key [B, Lk, {KDim}] and value [B, Lk, {VDim}] (batchFirst {BatchFirst}), got {Shapes(query, key, value)}.");

        using var mask = CombinedMask(attnMask, keyPaddingMask, batched, b, lq, lk, q.DType, q.Device);
        using var qh = ProjectHeads(q, 0);
        using var kh = ProjectHeads(k, 1);
        using var vh = ProjectHeads(v, 2);
        Tensor? probabilities = null;
        Tensor output;
        try
        {
            Tensor heads;
            if (weights != null || (IsTraining && _dropout.P > 0))
                (heads, probabilities) = ExplicitAttention(qh, kh, vh, mask, causal);
            else heads = AttentionOp.ScaledDotProductAttention(qh, kh, vh, mask, causal);

            // [B, H, Lq, Dh] -> [B, Lq, H, Dh] -> [B, Lq, E]: heads side by side, as PyTorch concatenates them.
            using (heads)
            using (var joined = heads.Transpose(1, 2))
            using (var merged = joined.Reshape(b, lq, EmbedDim))
                output = _outProj.Forward(merged);
            if (!batched || !BatchFirst)
                using (var projected = output)
                    output = batched ? projected.Transpose(0, 1) : projected.Squeeze(0);
            if (weights == null) return (output, null);
            using (probabilities)
            {
                using var averaged = weights.Value ? probabilities!.Mean(1) : null;
                var shaped = averaged ?? probabilities!;
                return (output, WeightsView(shaped, batched));
            }
        }
        finally
        {
            if (weights == null) probabilities?.Dispose();
        }
    }

    /// <summary>The weights as returned: a new handle, without the batch dimension for unbatched input.</summary>
    private static Tensor WeightsView(Tensor weights, bool batched) => batched ? weights.Reshape(weights.Layout.Shape) : weights.Squeeze(0);

    /// <summary>x as [B, L, E], or null when it already is.</summary>
    private Tensor? ToBatchFirst(Tensor x, bool batched) =>
        !batched ? x.Unsqueeze(0) : BatchFirst ? null : x.Transpose(0, 1);

    /// <summary>x W_iᵀ + b_i for projection i (query, key, value), split into heads: [B, H, L, Dh].</summary>
    private Tensor ProjectHeads(Tensor x, int which)
    {
        // A view of the weight (a handle of our own to dispose), recorded so gradients reach it.
        using var weight = _inProjWeight != null
            ? _inProjWeight.Narrow(0, which * EmbedDim, EmbedDim)
            : (which == 0 ? _qProjWeight! : which == 1 ? _kProjWeight! : _vProjWeight!).Narrow(0, 0, EmbedDim);
        using var weightT = weight.T;
        using var product = x.MatMul(weightT);
        using var biased = _inProjBias == null ? null : AddBias(product, which);
        using var split = (biased ?? product).Reshape(x.Layout.Shape[0], x.Layout.Shape[1], NumHeads, HeadDim);
        return split.Transpose(1, 2);
    }

    private Tensor AddBias(Tensor product, int which)
    {
        using var bias = _inProjBias!.Narrow(0, which * EmbedDim, EmbedDim);
        return product + bias;
    }

    /// <summary>
    /// The attention mask and key padding mask as one additive mask that broadcasts to
    /// [B, H, Lq, Lk], or null when there are none. Masks never need a gradient.
    /// </summary>
    private Tensor? CombinedMask(Tensor? attnMask, Tensor? keyPaddingMask, bool batched, int b, int lq, int lk, DType dtype, Device device)
    {
        using var noGrad = Tape.NoGrad();
        Tensor? attn = null, padding = null;
        try
        {
            if (attnMask != null)
            {
                var shape = attnMask.Layout.Shape;
                if (attnMask.Device != device)
                    throw new ArgumentException($"MultiHeadAttention: attnMask is on {attnMask.Device}, the inputs on {device}.");
                if (attnMask.Rank == 3 && shape[0] == b * NumHeads && shape[1] == lq && shape[2] == lk)
                {
                    // PyTorch's per-head layout [B*H, Lq, Lk], batch-major.
                    using var additive = AttentionMasks.ToAdditive(attnMask, dtype);
                    attn = additive.Reshape(b, NumHeads, lq, lk);
                }
                else if (attnMask.Rank is >= 2 and <= 4 && shape[^2] is var r && (r == lq || r == 1) && shape[^1] is var c && (c == lk || c == 1)
                         && (attnMask.Rank < 3 || shape[^3] is 1 || shape[^3] == NumHeads)
                         && (attnMask.Rank < 4 || shape[0] is 1 || shape[0] == b))
                    attn = AttentionMasks.ToAdditive(attnMask, dtype);
                else
                    throw new ArgumentException($"MultiHeadAttention: attnMask {Layout.Format(shape)} does not fit: expected [{lq}, {lk}], [{b * NumHeads}, {lq}, {lk}] (batch*heads) or a shape broadcastable to [{b}, {NumHeads}, {lq}, {lk}].");
            }
            if (keyPaddingMask != null)
            {
                var expected = batched ? new[] { b, lk } : [lk];
                if (!keyPaddingMask.Layout.Shape.SequenceEqual(expected))
                    throw new ArgumentException($"MultiHeadAttention: keyPaddingMask must be {Layout.Format(expected)} (batch, key length), got {Layout.Format(keyPaddingMask.Layout.Shape)}.");
                if (keyPaddingMask.Device != device)
                    throw new ArgumentException($"MultiHeadAttention: keyPaddingMask is on {keyPaddingMask.Device}, the inputs on {device}.");
                using var perKey = keyPaddingMask.Reshape(b, 1, 1, lk);
                padding = AttentionMasks.BooleanToAdditive(perKey, dtype);
            }
            if (attn == null || padding == null) return attn ?? padding;
            return attn + padding;
        }
        finally
        {
            if (attn != null && padding != null) { attn.Dispose(); padding.Dispose(); }
        }
    }

    /// <summary>softmax(Q Kᵀ / sqrt(d) + mask), dropout, then times V, with those probabilities: the scores are materialised so dropout can act on them and callers can see them.</summary>
    private (Tensor Heads, Tensor Probabilities) ExplicitAttention(Tensor q, Tensor k, Tensor v, Tensor? mask, bool causal)
    {
        using var kT = k.Transpose(-2, -1);
        using var raw = q.MatMul(kT);
        using var scores = raw * (1 / Math.Sqrt(HeadDim));
        using var causalMask = causal ? AttentionMasks.Causal(q.Layout.Shape[^2], k.Layout.Shape[^2], q.DType, q.Device) : null;
        using var withCausal = causalMask == null ? null : scores + causalMask;
        using var masked = mask == null ? null : (withCausal ?? scores) + mask;
        using var probabilities = (masked ?? withCausal ?? scores).Softmax(-1);
        var dropped = _dropout.Forward(probabilities);
        try
        {
            return (dropped.MatMul(v), dropped);
        }
        catch
        {
            dropped.Dispose();
            throw;
        }
    }

    private static string Shapes(Tensor q, Tensor k, Tensor v) =>
        $"query {Layout.Format(q.Layout.Shape)}, key {Layout.Format(k.Layout.Shape)}, value {Layout.Format(v.Layout.Shape)}";
}
