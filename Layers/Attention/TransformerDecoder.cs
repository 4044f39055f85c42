namespace Tensorium.Layers;

/// <summary>
/// A stack of <see cref="TransformerDecoderLayer"/>s with an optional final LayerNorm
/// (torch.nn.TransformerDecoder). Each layer attends to the same memory. Layers come from a
/// factory (see <see cref="TransformerStack{TLayer}"/>).
/// </summary>
public sealed class TransformerDecoder(Func<int, TransformerDecoderLayer> layerFactory, int numLayers, LayerNorm? norm = null)
    : TransformerStack<TransformerDecoderLayer>(nameof(TransformerDecoder), layerFactory, numLayers, norm)
{
    /// <summary>A decoder needs the encoder's output: use <see cref="Forward(Tensor, Tensor, bool, Tensor?, Tensor?, Tensor?, Tensor?)"/>.</summary>
    public override Tensor Forward(Tensor input) =>
        throw new NotSupportedException($"TransformerDecoder: Forward needs the target and the memory (encoder output), got only one tensor {Layout.Format(input.Layout.Shape)}; call Forward(tgt, memory, ...).");

    /// <summary>Runs every layer on the target with the same memory and masks (see <see cref="TransformerDecoderLayer"/>), then the final norm.</summary>
    /// <param name="tgt">The target sequence [B, Lt, dModel].</param>
    /// <param name="memory">The encoder output [B, Lm, dModel].</param>
    /// <param name="tgtCausal">Causal target self-attention (on by default).</param>
    /// <param name="memoryKeyPaddingMask">[B, Lm]: non-zero marks padded memory positions.</param>
    /// <param name="tgtMask">Extra target self-attention mask.</param>
    /// <param name="tgtKeyPaddingMask">[B, Lt]: non-zero marks padded target positions.</param>
    /// <param name="memoryMask">Cross-attention mask [Lt, Lm].</param>
    public Tensor Forward(Tensor tgt, Tensor memory, bool tgtCausal = true, Tensor? memoryKeyPaddingMask = null,
        Tensor? tgtMask = null, Tensor? tgtKeyPaddingMask = null, Tensor? memoryMask = null) =>
        Run(tgt, (layer, x) => layer.Forward(x, memory, tgtCausal, memoryKeyPaddingMask, tgtMask, tgtKeyPaddingMask, memoryMask));
}
