namespace Tensorium.Layers;

/// <summary>
/// A stack of <see cref="TransformerEncoderLayer"/>s with an optional final LayerNorm
/// (torch.nn.TransformerEncoder; pre-norm stacks want that final norm). PyTorch deep-copies
/// one layer; here a factory builds each one (see <see cref="TransformerStack{TLayer}"/>).
/// </summary>
public sealed class TransformerEncoder(Func<int, TransformerEncoderLayer> layerFactory, int numLayers, LayerNorm? norm = null)
    : TransformerStack<TransformerEncoderLayer>(nameof(TransformerEncoder), layerFactory, numLayers, norm)
{
    /// <summary>The stack without masks.</summary>
    public override Tensor Forward(Tensor input) => Forward(input, null, null, false);

    /// <summary>Runs every layer with the same masks (see <see cref="TransformerEncoderLayer.Forward(Tensor, Tensor?, Tensor?, bool)"/>), then the final norm.</summary>
    public Tensor Forward(Tensor src, Tensor? mask = null, Tensor? srcKeyPaddingMask = null, bool isCausal = false) =>
        Run(src, (layer, x) => layer.Forward(x, mask, srcKeyPaddingMask, isCausal));
}
