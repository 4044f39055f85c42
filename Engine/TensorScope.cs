namespace Tensorium;

/// <summary>
/// Disposes every tensor created on this thread while the scope is open, except the ones
/// passed to <see cref="Keep"/>. Wrap a training step in one and nothing it made outlives it:
/// <code>using (new TensorScope()) { var loss = model.Forward(x) ... }</code>
/// Scopes nest; a tensor belongs to the innermost open scope.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;
    private readonly TensorScope? _outer;
    private readonly List<Tensor> _tensors = new();
    private bool _disposed;

    /// <summary>Opens a scope on the current thread.</summary>
    public TensorScope()
    {
        _outer = _current;
        _current = this;
    }

    internal static void Register(Tensor tensor) => _current?._tensors.Add(tensor);

    /// <summary>Whether <paramref name="tensor"/> was made while this scope was current and is still its to dispose.</summary>
    internal bool Holds(Tensor tensor) => _tensors.Exists(t => ReferenceEquals(t, tensor));

    /// <summary>
    /// Keeps <paramref name="tensor"/> alive past this scope by moving it to the enclosing scope
    /// (if any), together with the tensors its recorded graph saved for backward, so
    /// <c>Backward()</c> still works on it after the scope closes.
    /// </summary>
    public Tensor Keep(Tensor tensor)
    {
        if (_tensors.Remove(tensor)) _outer?._tensors.Add(tensor);
        // Walk the graph behind it: backward reads only the tensors each entry saved (the
        // intermediate outputs themselves may die with the scope).
        var pending = new Stack<Tensor>();
        var visited = new HashSet<object>(ReferenceEqualityComparer.Instance);
        pending.Push(tensor);
        while (pending.Count > 0)
        {
            if (pending.Pop().Producer is not IRecordedOp op || !visited.Add(op)) continue;
            foreach (var saved in op.SavedTensors)
                if (_tensors.Remove(saved)) _outer?._tensors.Add(saved);
            foreach (var input in op.RecordedInputs) pending.Push(input);
        }
        return tensor;
    }

    /// <summary>Disposes the scope's tensors and closes it.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_current == this)
        {
            // Skip enclosing scopes that were already disposed (out-of-order Dispose): leaving one
            // current made every later tensor register in a dead scope that never frees it.
            var outer = _outer;
            while (outer is { _disposed: true }) outer = outer._outer;
            _current = outer;
        }
        foreach (var t in _tensors)
            if (!t.OwnedByParent) t.Dispose();
        _tensors.Clear();
    }
}
