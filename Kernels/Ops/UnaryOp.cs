namespace Tensorium.Kernels.Ops;

/// <summary>Unary elementwise operations (floating point).</summary>
public enum UnaryOp
{
    /// <summary>-x</summary>
    Neg,
    /// <summary>|x|</summary>
    Abs,
    /// <summary>e^x</summary>
    Exp,
    /// <summary>natural log</summary>
    Log,
    /// <summary>square root</summary>
    Sqrt,
    /// <summary>1 / sqrt(x)</summary>
    Rsqrt,
    /// <summary>x ^ p0</summary>
    Pow,
    /// <summary>hyperbolic tangent</summary>
    Tanh,
    /// <summary>1 / (1 + e^-x)</summary>
    Sigmoid,
    /// <summary>max(x, 0)</summary>
    Relu,
    /// <summary>x * Phi(x), the exact (erf) GELU</summary>
    Gelu,
    /// <summary>d/dx of <see cref="Gelu"/>: Phi(x) + x * phi(x)</summary>
    GeluGrad,
    /// <summary>sine</summary>
    Sin,
    /// <summary>cosine</summary>
    Cos,
    /// <summary>min(max(x, p0), p1)</summary>
    Clamp,
    /// <summary>-1, 0 or 1</summary>
    Sign,
}

