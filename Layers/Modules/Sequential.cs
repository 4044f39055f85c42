namespace Tensorium.Layers;

/// <summary>Runs its layers in order, each one's output feeding the next (Keras Sequential, nn.Sequential).</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = new();

    /// <summary>Creates a stack of layers, registered as "0", "1", ...</summary>
    public Sequential(params Module[] layers)
    {
        foreach (var layer in layers) Add(layer);
    }

    /// <summary>Appends a layer.</summary>
    public Sequential Add(Module layer)
    {
        _layers.Add(RegisterModule(_layers.Count.ToString(), layer));
        return this;
    }

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<Module> Layers => _layers;

    /// <summary>Layer <paramref name="index"/>.</summary>
    public Module this[int index] => _layers[CheckIndex(index)];

    /// <summary>
    /// Replaces layer <paramref name="index"/> (transfer learning: a new head). The old layer is
    /// disposed.
    /// </summary>
    public void Replace(int index, Module layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var old = _layers[CheckIndex(index)];
        _layers[index] = layer;
        ReplaceModule(index.ToString(), layer);
        if (!ReferenceEquals(old, layer)) old.Dispose();   // a layer replaced by itself is still in use
    }

    private int CheckIndex(int index) => index >= 0 && index < _layers.Count
        ? index
        : throw new ArgumentOutOfRangeException(nameof(index), $"Sequential: no layer {index}; it has {_layers.Count} layer{(_layers.Count == 1 ? "" : "s")}.");

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var x = Chain(input, _layers, static (layer, activation) =>
        {
            var next = layer.Forward(activation);
            SummaryTrace.Record(layer, next);
            return next;
        });
        return ReferenceEquals(x, input) ? input.Detach() : x;
    }
}
