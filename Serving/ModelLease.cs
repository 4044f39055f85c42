namespace Tensorium.Serving;

/// <summary>A request's hold on a served model (<see cref="ModelStore.Acquire"/>): the model stays loaded until it is disposed.</summary>
public sealed class ModelLease(ServedModel served) : IDisposable
{
    private int _released;

    /// <summary>The model held.</summary>
    public ServedModel Served { get; } = served;

    /// <summary>Releases the hold.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) Served.Release();
    }
}
