namespace Tensorium.Layers;

/// <summary>The activation of the Elman cell (<see cref="SimpleRnn"/>), PyTorch's nonlinearity='tanh' or 'relu'.</summary>
public enum RnnNonlinearity
{
    /// <summary>h' = tanh(...), the default (fused kernel).</summary>
    Tanh,
    /// <summary>h' = relu(...) (composed from matmul and relu per step).</summary>
    Relu,
}
