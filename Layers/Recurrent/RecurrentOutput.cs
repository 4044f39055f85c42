namespace Tensorium.Layers;

/// <summary>
/// What a recurrent layer returns, like PyTorch's <c>output, (h_n, c_n)</c>.
/// Disposing it disposes the three tensors.
/// </summary>
/// <param name="Output">The top layer's hidden state at every step, [batch, time, directions · hidden].</param>
/// <param name="Hidden">Each layer's (and direction's) last hidden state h_n, [layers · directions, batch, hidden].</param>
/// <param name="Cell">Each layer's (and direction's) last cell state c_n, [layers · directions, batch, hidden] (LSTM only, else null).</param>
public sealed record RecurrentOutput(Tensor Output, Tensor Hidden, Tensor? Cell) : IDisposable
{
    /// <summary>Disposes Output, Hidden and Cell.</summary>
    public void Dispose()
    {
        Output.Dispose();
        Hidden.Dispose();
        Cell?.Dispose();
    }
}
