namespace Tensorium.Layers;

/// <summary>
/// The output shapes seen while <see cref="Module.Summary(int[])"/> runs a model once: modules have no
/// forward hooks (a layer calls its children's <see cref="Module.Forward"/> directly), so the
/// places that run a child on its behalf, <see cref="Sequential"/> and <see cref="Module.Call"/>,
/// report each output here. Outside a summary nothing is open and recording costs one read of a
/// thread-static field.
/// </summary>
internal sealed class SummaryTrace : IDisposable
{
    [ThreadStatic] private static SummaryTrace? _current;
    private readonly SummaryTrace? _outer;
    private readonly Dictionary<Module, int[]> _shapes = new(ReferenceEqualityComparer.Instance);

    /// <summary>Starts recording on this thread.</summary>
    public SummaryTrace()
    {
        _outer = _current;
        _current = this;
    }

    /// <summary>Notes <paramref name="output"/>'s shape as <paramref name="module"/>'s output, when a trace is open.</summary>
    public static void Record(Module module, Tensor output)
    {
        // A module run twice (a shared layer) keeps its last shape.
        if (_current != null) _current._shapes[module] = output.Shape;
    }

    /// <summary>The recorded output shape of <paramref name="module"/>, or null when it was not seen.</summary>
    public int[]? ShapeOf(Module module) => _shapes.TryGetValue(module, out var shape) ? shape : null;

    /// <summary>Stops recording.</summary>
    public void Dispose() => _current = _outer;
}
