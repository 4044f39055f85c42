namespace Tensorium.Kernels.Ops;

/// <summary>Which random distribution a random fill draws (see <see cref="Philox"/> for each formula).</summary>
public enum RandomKind
{
    /// <summary>Uniform on [a, b).</summary>
    Uniform,
    /// <summary>Normal with mean a and standard deviation b.</summary>
    Normal,
    /// <summary>1 with probability a, else 0.</summary>
    Bernoulli,
}
