namespace Tensorium;

/// <summary>
/// What the LSTM op (<see cref="RecurrentOps"/>' <c>LstmSequence</c>) returns, by name (candle's
/// <c>LSTMState { h, c }</c>): every hidden state and every cell state, each [batch, time, hidden].
/// Disposing it disposes both.
/// </summary>
/// <param name="H">The hidden state h_t at every step: the layer's output.</param>
/// <param name="C">The cell state c_t at every step; the last one is c_n.</param>
public readonly record struct LstmState(Tensor H, Tensor C) : IDisposable
{
    /// <summary>Disposes H and C.</summary>
    public void Dispose()
    {
        H.Dispose();
        C.Dispose();
    }
}
