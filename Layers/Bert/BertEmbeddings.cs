using Tensorium.Layers;

namespace Tensorium.Bert;

/// <summary>
/// BERT's input layer (Hugging Face's BertEmbeddings): the sum of a token's word embedding, its
/// position's embedding and its segment's (token type's) embedding, then LayerNorm and dropout.
/// [B, L] ids to [B, L, H]. Children carry Hugging Face's names (word_embeddings,
/// position_embeddings, token_type_embeddings, LayerNorm), initialised N(0, 0.02) as there.
/// </summary>
public sealed class BertEmbeddings : Module
{
    private readonly Embedding _words, _positions, _tokenTypes;
    private readonly LayerNorm _norm;
    private readonly Dropout _dropout;

    /// <summary>Builds the embeddings for <paramref name="config"/>.</summary>
    public BertEmbeddings(BertConfig config, Generator? generator = null)
    {
        _words = RegisterModule("word_embeddings", BertInit.Embedding(config.VocabSize, config.HiddenSize, generator));
        _positions = RegisterModule("position_embeddings", BertInit.Embedding(config.MaxPositionEmbeddings, config.HiddenSize, generator));
        _tokenTypes = RegisterModule("token_type_embeddings", BertInit.Embedding(config.TypeVocabSize, config.HiddenSize, generator));
        _norm = RegisterModule("LayerNorm", new LayerNorm(config.HiddenSize, config.LayerNormEps));
        _dropout = RegisterModule("dropout", new Dropout(config.HiddenDropoutProb, generator));
    }

    /// <summary>The word embedding table [vocabulary, H], which the masked-LM decoder shares.</summary>
    public Tensor WordWeight => _words.Weight;

    /// <summary>Embeds ids with segment 0 everywhere.</summary>
    public override Tensor Forward(Tensor input) => Forward(input, null);

    /// <summary>
    /// Embeds <paramref name="inputIds"/> [B, L] (L at most max_position_embeddings) with
    /// <paramref name="tokenTypeIds"/> [B, L] (null: all 0); positions are 0..L-1.
    /// </summary>
    public Tensor Forward(Tensor inputIds, Tensor? tokenTypeIds)
    {
        if (inputIds.Rank != 2 || inputIds.DType.IsFloating())
            throw new ArgumentException($"BertEmbeddings: expected input ids [B, L] of int32 or int64, got {inputIds.DType.Name()} {Layout.Format(inputIds.Layout.Shape)}.");
        int length = inputIds.Layout.Shape[1];
        if (length > _positions.NumEmbeddings)
            throw new ArgumentException($"BertEmbeddings: sequences of {length} tokens are longer than max_position_embeddings {_positions.NumEmbeddings}.");
        if (tokenTypeIds != null && !tokenTypeIds.Layout.Shape.SequenceEqual(inputIds.Layout.Shape))
            throw new ArgumentException($"BertEmbeddings: token type ids {Layout.Format(tokenTypeIds.Layout.Shape)} must have the input ids' shape {Layout.Format(inputIds.Layout.Shape)}.");
        using var zeros = tokenTypeIds == null ? Tensor.Zeros(inputIds.Layout.Shape, DType.Int64, inputIds.Device) : null;
        using var positionIds = Tensor.Arange(length, DType.Int64, inputIds.Device);
        using var words = _words.Forward(inputIds);
        using var positions = _positions.Forward(positionIds);     // [L, H], broadcast over the batch
        using var types = _tokenTypes.Forward(tokenTypeIds ?? zeros!);
        using var sum = words + positions;
        using var all = sum + types;
        using var normed = _norm.Forward(all);
        return _dropout.Forward(normed);
    }
}
