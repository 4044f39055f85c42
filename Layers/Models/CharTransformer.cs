using Tensorium.Layers;

namespace Tensorium.Models;

/// <summary>
/// A GPT-style character language model: token embedding plus learned positions, a stack of
/// pre-norm Transformer encoder blocks run with a causal mask, a final LayerNorm and a linear
/// read-out. [B, T] token ids (T at most <see cref="Context"/>) to [B, T, vocabulary] logits;
/// position t only sees tokens 0..t. The architecture of the transformer example, registered as
/// <see cref="Architectures.CharTransformerName"/>.
/// </summary>
public sealed class CharTransformer : Module
{
    private readonly Embedding _tokens;
    private readonly LearnedPositionalEncoding _positions;
    private readonly TransformerEncoder _blocks;
    private readonly LayerNorm _norm;
    private readonly Linear _head;

    /// <summary>
    /// Builds the model. The submodule names (tok_emb, pos_emb, blocks, ln_f, head) are the
    /// checkpoint's tensor names: keep them when changing the code, or old weights stop loading.
    /// </summary>
    public CharTransformer(int vocabulary, int context, int dModel, int heads, int layers, int feedForward, Generator? generator = null)
    {
        Vocabulary = vocabulary;
        Context = context;
        _tokens = RegisterModule("tok_emb", new Embedding(vocabulary, dModel, generator: generator));
        _positions = RegisterModule("pos_emb", new LearnedPositionalEncoding(context, dModel, generator: generator));
        _blocks = RegisterModule("blocks", new TransformerEncoder(
            _ => new TransformerEncoderLayer(dModel, heads, feedForward, dropout: 0, activation: "gelu", normFirst: true, generator: generator), layers));
        _norm = RegisterModule("ln_f", new LayerNorm(dModel));
        _head = RegisterModule("head", new Linear(dModel, vocabulary, generator: generator));
    }

    /// <summary>The number of distinct tokens (characters).</summary>
    public int Vocabulary { get; }

    /// <summary>The longest sequence the model reads (its number of learned positions).</summary>
    public int Context { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor ids)
    {
        using var tokens = _tokens.Forward(ids);
        using var x = _positions.Forward(tokens);
        using var h = _blocks.Forward(x, isCausal: true);
        using var normed = _norm.Forward(h);
        return _head.Forward(normed);
    }
}
