using System.Numerics;
using System.Numerics.Tensors;

namespace Tensorium.Kernels.Cpu;

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

/// <summary>Unary elementwise kernels over contiguous spans, vectorised through TensorPrimitives, split across threads.</summary>
public static unsafe class Unary
{
    private const int Chunk = 1 << 15;

    /// <summary>y = op(x; p0, p1) for contiguous x and y of equal length (they may alias).</summary>
    public static void Apply<T>(UnaryOp op, T* x, T* y, int count, T p0, T p1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint px = (nint)x, py = (nint)y;
        int chunks = (count + Chunk - 1) / Chunk;
        CpuParallel.For(chunks, c =>
        {
            int start = c * Chunk, n = Math.Min(Chunk, count - start);
            ApplyRow(op, new ReadOnlySpan<T>((T*)px + start, n), new Span<T>((T*)py + start, n), p0, p1);
        }, Chunk * 4);
    }

    private static void ApplyRow<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y, T p0, T p1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, y); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, y); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case UnaryOp.Rsqrt: TensorPrimitives.Sqrt(x, y); TensorPrimitives.Divide(T.One, y, y); break;
            case UnaryOp.Pow: TensorPrimitives.Pow(x, p0, y); break;
            case UnaryOp.Tanh: TensorPrimitives.Tanh(x, y); break;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case UnaryOp.Relu: TensorPrimitives.Max(x, T.Zero, y); break;
            case UnaryOp.Sin: TensorPrimitives.Sin(x, y); break;
            case UnaryOp.Cos: TensorPrimitives.Cos(x, y); break;
            case UnaryOp.Clamp: TensorPrimitives.Max(x, p0, y); TensorPrimitives.Min(y, p1, y); break;
            case UnaryOp.Sign:
                for (int i = 0; i < x.Length; i++) y[i] = T.IsNaN(x[i]) ? x[i] : T.CreateTruncating(T.Sign(x[i]));
                break;
            case UnaryOp.Gelu:
                for (int i = 0; i < x.Length; i++)
                {
                    double v = double.CreateTruncating(x[i]);
                    y[i] = T.CreateTruncating(v * NormalCdf<T>(v));
                }
                break;
            case UnaryOp.GeluGrad:
                for (int i = 0; i < x.Length; i++)
                {
                    double v = double.CreateTruncating(x[i]);
                    y[i] = T.CreateTruncating(NormalCdf<T>(v) + v * SpecialFunctions.NormalPdf(v));
                }
                break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown unary op");
        }
    }

    /// <summary>Phi(v) as precise as T needs: exact for double (gradient checks), to float precision otherwise (much faster).</summary>
    private static double NormalCdf<T>(double v) =>
        typeof(T) == typeof(double) ? SpecialFunctions.NormalCdf(v) : SpecialFunctions.NormalCdfSingle(v);
}
