namespace Tensorium.Layers;

/// <summary>
/// What a recurrent layer returns, like PyTorch's <c>output, (h_n, c_n)</c>.
/// Disposing it disposes the three tensors.
/// </summary>
/// <param name="Output">The top layer's hidden state at every step, [batch, time, hidden].</param>
/// <param name="Hidden">Each layer's last hidden state h_n, [layers, batch, hidden].</param>
/// <param name="Cell">Each layer's last cell state c_n, [layers, batch, hidden] (LSTM only, else null).</param>
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
