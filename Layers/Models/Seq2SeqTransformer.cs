using Tensorium.Layers;

namespace Tensorium.Models;

/// <summary>
/// An encoder-decoder Transformer (pre-norm, as in "Attention is all you need"): the encoder
/// reads source token ids, the decoder writes target ids one at a time, attending to the
/// encoder's output through cross-attention. The architecture of the seq2seq example,
/// registered as <see cref="Architectures.Seq2SeqTransformerName"/>. It has two inputs, so call
/// <see cref="Forward(Tensor, Tensor)"/> or <see cref="Encode"/> and <see cref="Decode"/>.
/// </summary>
public sealed class Seq2SeqTransformer : Module
{
    private readonly Embedding _srcEmb, _tgtEmb;
    private readonly LearnedPositionalEncoding _srcPos, _tgtPos;
    private readonly TransformerEncoder _encoder;
    private readonly TransformerDecoder _decoder;
    private readonly Linear _head;

    /// <summary>
    /// Builds the model for sequences of at most <paramref name="length"/> tokens out of
    /// <paramref name="vocabulary"/>. The submodule names are the checkpoint's tensor names.
    /// </summary>
    public Seq2SeqTransformer(int vocabulary, int length, int dModel, int heads, int encoderLayers, int decoderLayers, int feedForward, Generator? generator = null)
    {
        Vocabulary = vocabulary;
        _srcEmb = RegisterModule("src_emb", new Embedding(vocabulary, dModel, generator: generator));
        _tgtEmb = RegisterModule("tgt_emb", new Embedding(vocabulary, dModel, generator: generator));
        _srcPos = RegisterModule("src_pos", new LearnedPositionalEncoding(length, dModel, generator: generator));
        _tgtPos = RegisterModule("tgt_pos", new LearnedPositionalEncoding(length, dModel, generator: generator));
        _encoder = RegisterModule("encoder", new TransformerEncoder(
            _ => new TransformerEncoderLayer(dModel, heads, feedForward, dropout: 0, normFirst: true, generator: generator), encoderLayers, new LayerNorm(dModel)));
        _decoder = RegisterModule("decoder", new TransformerDecoder(
            _ => new TransformerDecoderLayer(dModel, heads, feedForward, dropout: 0, normFirst: true, generator: generator), decoderLayers, new LayerNorm(dModel)));
        _head = RegisterModule("head", new Linear(dModel, vocabulary, generator: generator));
    }

    /// <summary>The number of distinct tokens.</summary>
    public int Vocabulary { get; }

    /// <summary>Not supported: the model needs a source and a target; see <see cref="Forward(Tensor, Tensor)"/>.</summary>
    public override Tensor Forward(Tensor input) =>
        throw new NotSupportedException("Seq2SeqTransformer: call Forward(source, targetIn) or Encode/Decode; one input is not enough.");

    /// <summary>Source ids [B, Ls] to memory [B, Ls, d].</summary>
    public Tensor Encode(Tensor source)
    {
        using var emb = _srcEmb.Forward(source);
        using var x = _srcPos.Forward(emb);
        return _encoder.Forward(x);
    }

    /// <summary>Decoder input ids [B, Lt] (start token first) and memory to logits [B, Lt, vocabulary]; causal over the target.</summary>
    public Tensor Decode(Tensor targetIn, Tensor memory)
    {
        using var emb = _tgtEmb.Forward(targetIn);
        using var x = _tgtPos.Forward(emb);
        using var h = _decoder.Forward(x, memory, tgtCausal: true);
        return _head.Forward(h);
    }

    /// <summary>Source [B, Ls] and decoder input [B, Lt] ids to logits [B, Lt, vocabulary] (teacher forcing).</summary>
    public Tensor Forward(Tensor source, Tensor targetIn)
    {
        using var memory = Encode(source);
        return Decode(targetIn, memory);
    }
}
