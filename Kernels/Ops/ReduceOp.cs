namespace Tensorium.Kernels.Ops;

/// <summary>Reductions that keep the element type.</summary>
public enum ReduceOp
{
    /// <summary>Sum.</summary>
    Sum,
    /// <summary>Arithmetic mean.</summary>
    Mean,
    /// <summary>Largest value (NaN wins).</summary>
    Max,
    /// <summary>Smallest value (NaN wins).</summary>
    Min,
    /// <summary>Variance with a correction (1 = unbiased, 0 = population).</summary>
    Var,
}

