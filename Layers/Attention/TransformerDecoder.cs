namespace Tensorium.Layers;

/// <summary>
/// A stack of <see cref="TransformerDecoderLayer"/>s with an optional final LayerNorm
/// (torch.nn.TransformerDecoder). Each layer attends to the same memory. Layers come from a
/// factory and are registered as "layers.0", "layers.1", ... like PyTorch's ModuleList.
/// </summary>
public sealed class TransformerDecoder : Module
{
    private readonly List<TransformerDecoderLayer> _layers = new();
    private readonly LayerNorm? _norm;

    /// <summary>Builds <paramref name="numLayers"/> layers with <paramref name="layerFactory"/> (called with 0, 1, ...).</summary>
    public TransformerDecoder(Func<int, TransformerDecoderLayer> layerFactory, int numLayers, LayerNorm? norm = null)
    {
        if (numLayers <= 0) throw new ArgumentException($"TransformerDecoder: numLayers must be positive, got {numLayers}.");
        // A Sequential serves as the ModuleList: it gives the "layers.i." names; its own Forward is not used.
        var list = RegisterModule("layers", new Sequential());
        for (int i = 0; i < numLayers; i++)
        {
            var layer = layerFactory(i);
            _layers.Add(layer);
            list.Add(layer);
        }
        if (norm != null) _norm = RegisterModule("norm", norm);
    }

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<TransformerDecoderLayer> Layers => _layers;

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
        Tensor? tgtMask = null, Tensor? tgtKeyPaddingMask = null, Tensor? memoryMask = null)
    {
        var x = tgt;
        foreach (var layer in _layers)
        {
            var next = layer.Forward(x, memory, tgtCausal, memoryKeyPaddingMask, tgtMask, tgtKeyPaddingMask, memoryMask);
            if (!ReferenceEquals(x, tgt)) x.Dispose();   // the tape keeps what backward needs
            x = next;
        }
        if (_norm == null) return x;
        using (x) return _norm.Forward(x);
    }
}
