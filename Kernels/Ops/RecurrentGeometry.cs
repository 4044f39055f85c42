namespace Tensorium.Kernels.Ops;

/// <summary>The recurrent cell a layer repeats over time.</summary>
public enum RecurrentCell
{
    /// <summary>Elman RNN (Keras SimpleRNN): h' = tanh(W_ih x + b_ih + W_hh h + b_hh). One gate.</summary>
    Tanh,
    /// <summary>LSTM with PyTorch's gate order i, f, g, o: c' = f c + i g, h' = o tanh(c'). Four gates.</summary>
    Lstm,
    /// <summary>GRU with PyTorch's gate order r, z, n: n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h. Three gates.</summary>
    Gru,
}

/// <summary>
/// Sizes of one recurrent layer run over a whole batch-first sequence: input [Batch, Steps,
/// InputSize], hidden state [Batch, HiddenSize]. Weights follow PyTorch: weight_ih
/// [Gates*HiddenSize, InputSize], weight_hh [Gates*HiddenSize, HiddenSize], biases [Gates*HiddenSize].
/// </summary>
/// <param name="Cell">Which cell (decides the gate count and what is cached for backward).</param>
/// <param name="Batch">Sequences in the batch (B).</param>
/// <param name="Steps">Time steps (T).</param>
/// <param name="InputSize">Features per step of the input.</param>
/// <param name="HiddenSize">Units of the hidden state (H).</param>
public readonly record struct RecurrentGeometry(RecurrentCell Cell, int Batch, int Steps, int InputSize, int HiddenSize)
{
    /// <summary>Gate blocks stacked in the weights: 1 (tanh RNN), 4 (LSTM) or 3 (GRU).</summary>
    public int Gates => Cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };

    /// <summary>Rows of weight_ih and weight_hh: Gates * HiddenSize.</summary>
    public int GateWidth => Gates * HiddenSize;

    /// <summary>State sequences the layer outputs: 2 for the LSTM (h and c), else 1 (h).</summary>
    public int States => Cell == RecurrentCell.Lstm ? 2 : 1;

    /// <summary>
    /// Values cached per (batch, step) for backward: the activated gates (LSTM i, f, g, o; RNN its
    /// pre-activation), and for the GRU r, z, n plus W_hn h + b_hn, which the n gate multiplies by r.
    /// </summary>
    public int CacheWidth => Cell == RecurrentCell.Gru ? 4 * HiddenSize : GateWidth;

    /// <summary>Throws when a size is not positive (the layers check shapes first; this guards the kernel).</summary>
    public void Validate()
    {
        if (Batch <= 0 || Steps <= 0 || InputSize <= 0 || HiddenSize <= 0)
            throw new ArgumentException($"{Cell.ToString().ToLowerInvariant()}: sizes must be positive, got batch {Batch}, steps {Steps}, input {InputSize}, hidden {HiddenSize}.");
        // The kernels step through a batch row's sequence with int strides (steps x width, the
        // widest being the gates or the cache); past int.MaxValue they would wrap around and
        // write outside the tensors rather than fail.
        long widest = Math.Max(Math.Max(CacheWidth, GateWidth), Math.Max(InputSize, HiddenSize));
        if (Steps * widest > int.MaxValue)
            throw new ArgumentException($"{Cell.ToString().ToLowerInvariant()}: a sequence of {Steps} steps of width {widest} has more than {int.MaxValue} values per batch row; expected fewer (split the sequence).");
    }
}
