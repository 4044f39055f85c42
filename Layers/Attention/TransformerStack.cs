namespace Tensorium.Layers;

/// <summary>
/// What the encoder and decoder stacks share: layers built by a factory (so each gets its own
/// fresh weights, where PyTorch deep-copies one layer), registered as "layers.0", "layers.1", ...
/// like PyTorch's ModuleList, an optional final LayerNorm registered as "norm", and the loop
/// that runs them in order.
/// </summary>
/// <typeparam name="TLayer">The layer type of the stack.</typeparam>
public abstract class TransformerStack<TLayer> : Module where TLayer : Module
{
    private readonly List<TLayer> _layers = new();
    private readonly LayerNorm? _norm;

    /// <summary>Builds <paramref name="numLayers"/> layers with <paramref name="layerFactory"/> (called with 0, 1, ...).</summary>
    protected TransformerStack(string name, Func<int, TLayer> layerFactory, int numLayers, LayerNorm? norm)
    {
        if (numLayers <= 0) throw new ArgumentException($"{name}: numLayers must be positive, got {numLayers}.");
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
    public IReadOnlyList<TLayer> Layers => _layers;

    /// <summary>Feeds <paramref name="input"/> through every layer with <paramref name="step"/>, then the final norm.</summary>
    protected Tensor Run(Tensor input, Func<TLayer, Tensor, Tensor> step)
    {
        var x = Chain(input, _layers, step);
        if (_norm == null) return x;
        using (x) return _norm.Forward(x);
    }
}
