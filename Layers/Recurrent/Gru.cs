using Tensorium.Kernels.Ops;

namespace Tensorium.Layers;

/// <summary>
/// Gated recurrent unit layer(s), like torch.nn.GRU(batch_first=True): per step
/// r, z = σ(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (their blocks), n = tanh(x W_inᵀ + b_in + r (h W_hnᵀ + b_hn)),
/// h' = (1 - z) n + z h. Each layer is one fused op with one tape entry.
/// </summary>
public sealed class Gru : RecurrentLayer
{
    /// <summary>
    /// Creates <paramref name="numLayers"/> stacked GRU layers. <paramref name="returnSequences"/>
    /// picks what <see cref="RecurrentLayer.Forward(Tensor)"/> returns; <paramref name="dropout"/> drops outputs between
    /// stacked layers in training; <paramref name="generator"/> seeds the weights and the dropout masks;
    /// <paramref name="bidirectional"/> also runs each layer backwards over the sequence (PyTorch's
    /// bidirectional, with "_reverse" weights).
    /// </summary>
    public Gru(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool returnSequences = true, double dropout = 0, Generator? generator = null,
        bool bidirectional = false)
        : base(RecurrentCell.Gru, inputSize, hiddenSize, numLayers, bias, returnSequences, dropout, generator, bidirectional) { }

    /// <summary>
    /// Runs the stack from <paramref name="h0"/> [layers · directions, batch, hidden] (null: zeros); returns the
    /// output sequence and the last hidden states, as PyTorch's <c>gru(x, h0)</c>.
    /// </summary>
    public RecurrentOutput Forward(Tensor input, Tensor? h0) => RunStack(input, h0, null);
}
