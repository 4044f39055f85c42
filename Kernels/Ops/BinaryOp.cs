namespace Tensorium.Kernels.Ops;

/// <summary>Binary elementwise operations.</summary>
public enum BinaryOp
{
    /// <summary>a + b</summary>
    Add,
    /// <summary>a - b</summary>
    Sub,
    /// <summary>a * b</summary>
    Mul,
    /// <summary>a / b</summary>
    Div,
    /// <summary>max(a, b)</summary>
    Maximum,
    /// <summary>min(a, b)</summary>
    Minimum,
    /// <summary>a raised to b</summary>
    Pow,
    /// <summary>1 where a == b else 0</summary>
    Equal,
    /// <summary>1 where a != b else 0</summary>
    NotEqual,
    /// <summary>1 where a &lt; b else 0</summary>
    Less,
    /// <summary>1 where a &lt;= b else 0</summary>
    LessEqual,
    /// <summary>1 where a &gt; b else 0</summary>
    Greater,
    /// <summary>1 where a &gt;= b else 0</summary>
    GreaterEqual,
    /// <summary>
    /// ReLU's gradient in one pass: 0 where b &lt;= 0, else a (a the upstream gradient, b the
    /// input; a NaN input passes the gradient, as PyTorch's threshold_backward does)
    /// </summary>
    ReluBackward,
}

