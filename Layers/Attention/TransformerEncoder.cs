namespace Tensorium.Layers;

/// <summary>
/// A stack of <see cref="TransformerEncoderLayer"/>s with an optional final LayerNorm
/// (torch.nn.TransformerEncoder; pre-norm stacks want that final norm). PyTorch deep-copies
/// one layer; here a factory builds each one, so every layer gets its own fresh weights.
/// Layers are registered as "layers.0", "layers.1", ... like PyTorch's ModuleList.
/// </summary>
public sealed class TransformerEncoder : Module
{
    private readonly List<TransformerEncoderLayer> _layers = new();
    private readonly LayerNorm? _norm;

    /// <summary>Builds <paramref name="numLayers"/> layers with <paramref name="layerFactory"/> (called with 0, 1, ...).</summary>
    public TransformerEncoder(Func<int, TransformerEncoderLayer> layerFactory, int numLayers, LayerNorm? norm = null)
    {
        if (numLayers <= 0) throw new ArgumentException($"TransformerEncoder: numLayers must be positive, got {numLayers}.");
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
    public IReadOnlyList<TransformerEncoderLayer> Layers => _layers;

    /// <summary>The stack without masks.</summary>
    public override Tensor Forward(Tensor input) => Forward(input, null, null, false);

    /// <summary>Runs every layer with the same masks (see <see cref="TransformerEncoderLayer.Forward(Tensor, Tensor?, Tensor?, bool)"/>), then the final norm.</summary>
    public Tensor Forward(Tensor src, Tensor? mask = null, Tensor? srcKeyPaddingMask = null, bool isCausal = false)
    {
        var x = src;
        foreach (var layer in _layers)
        {
            var next = layer.Forward(x, mask, srcKeyPaddingMask, isCausal);
            if (!ReferenceEquals(x, src)) x.Dispose();   // the tape keeps what backward needs
            x = next;
        }
        if (_norm == null) return x;
        using (x) return _norm.Forward(x);
    }
}
