using Tensorium.Kernels.Ops;

namespace Tensorium.Layers;

/// <summary>
/// Elman RNN layer(s), like torch.nn.RNN(batch_first=True) or Keras SimpleRNN:
/// h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), or relu(...) with <see cref="RnnNonlinearity.Relu"/>.
/// With tanh each layer is one fused op with one tape entry.
/// </summary>
public sealed class SimpleRnn : RecurrentLayer
{
    /// <summary>
    /// Creates <paramref name="numLayers"/> stacked Elman RNN layers. <paramref name="returnSequences"/>
    /// picks what <see cref="RecurrentLayer.Forward(Tensor)"/> returns; <paramref name="dropout"/> drops outputs between
    /// stacked layers in training; <paramref name="generator"/> seeds the weights and the dropout masks;
    /// <paramref name="bidirectional"/> also runs each layer backwards over the sequence (PyTorch's
    /// bidirectional, with "_reverse" weights). <paramref name="nonlinearity"/> is tanh (default) or ReLU, PyTorch's nonlinearity.
    /// </summary>
    public SimpleRnn(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool returnSequences = true, double dropout = 0, Generator? generator = null,
        bool bidirectional = false, RnnNonlinearity nonlinearity = RnnNonlinearity.Tanh)
        : base(RecurrentCell.Tanh, inputSize, hiddenSize, numLayers, bias, returnSequences, dropout, generator, bidirectional, nonlinearity) { }

    /// <summary>
    /// Runs the stack from <paramref name="h0"/> [layers · directions, batch, hidden] (null: zeros); returns the
    /// output sequence and the last hidden states, as PyTorch's <c>rnn(x, h0)</c>.
    /// </summary>
    public RecurrentOutput Forward(Tensor input, Tensor? h0) => RunStack(input, h0, null);
}
