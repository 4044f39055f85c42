using Tensorium.Kernels.Ops;

namespace Tensorium.Layers;

/// <summary>
/// Long short-term memory layer(s), like torch.nn.LSTM(batch_first=True): per step
/// i, f, g, o = σ, σ, tanh, σ of (x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), c' = f c + i g,
/// h' = o tanh(c'). Each layer is one fused op: the input projection of all steps is one GEMM,
/// each step one GEMM plus one fused cell pass, and backward is one tape entry.
/// </summary>
public sealed class Lstm : RecurrentLayer
{
    /// <summary>
    /// Creates <paramref name="numLayers"/> stacked LSTM layers. <paramref name="returnSequences"/>
    /// picks what <see cref="RecurrentLayer.Forward(Tensor)"/> returns; <paramref name="dropout"/> drops outputs between
    /// stacked layers in training; <paramref name="generator"/> seeds the weights and the dropout masks;
    /// <paramref name="bidirectional"/> also runs each layer backwards over the sequence (PyTorch's
    /// bidirectional, with "_reverse" weights).
    /// </summary>
    public Lstm(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool returnSequences = true, double dropout = 0, Generator? generator = null,
        bool bidirectional = false)
        : base(RecurrentCell.Lstm, inputSize, hiddenSize, numLayers, bias, returnSequences, dropout, generator, bidirectional) { }

    /// <summary>
    /// Runs the stack from the given states (null: zeros), each [layers · directions, batch, hidden]; returns
    /// the output sequence and the last hidden and cell states, as PyTorch's <c>lstm(x, (h0, c0))</c>.
    /// </summary>
    public RecurrentOutput Forward(Tensor input, Tensor? h0, Tensor? c0) => RunStack(input, h0, c0);
}
