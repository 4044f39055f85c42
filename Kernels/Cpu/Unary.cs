using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

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
            case UnaryOp.Gelu or UnaryOp.GeluGrad when typeof(T) == typeof(float):
                GeluFloat(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y), op == UnaryOp.GeluGrad);
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

    /// <summary>
    /// Float GELU (or its derivative) in float lanes, sixteen with AVX-512, else eight with AVX2: the
    /// same fit as the scalar path (<see cref="SpecialFunctions.NormalCdfSingle"/>; the coefficients
    /// are repeated inline so the JIT keeps them in registers) with vector exp, so a row costs about
    /// as much as a float exp rather than a scalar double exp per element. (AVX2 once took four
    /// double lanes, which made GELU the slowest op of the transformer step after the matrix products.)
    /// </summary>
    private static void GeluFloat(ReadOnlySpan<float> x, Span<float> y, bool gradient)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + Vector512<float>.Count <= x.Length; i += Vector512<float>.Count)
                GeluLanes(Vector512.Create(x.Slice(i, Vector512<float>.Count)), gradient).CopyTo(y.Slice(i));
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<float>.Count <= x.Length; i += Vector256<float>.Count)
                GeluLanes(Vector256.Create(x.Slice(i, Vector256<float>.Count)), gradient).CopyTo(y.Slice(i));
        }
        for (; i < x.Length; i++)
        {
            double v = x[i], phi = SpecialFunctions.NormalCdfSingle(v);
            y[i] = (float)(gradient ? phi + v * SpecialFunctions.NormalPdf(v) : v * phi);
        }
    }

    /// <summary>The float lanes of <see cref="GeluLanes(Vector512{float}, bool)"/>, eight at a time (AVX2).</summary>
    private static Vector256<float> GeluLanes(Vector256<float> x, bool gradient)
    {
        var z = Vector256.Abs(x) * Vector256.Create(0.70710678f);
        var t = Vector256<float>.One / (Vector256<float>.One + Vector256.Create(0.5f) * z);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(0.17087277f), t, Vector256.Create(-0.82215223f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(1.48851587f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(-1.13520398f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(0.27886807f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(-0.18628806f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(0.09678418f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(0.37409196f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(1.00002368f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(-1.26551223f));
        var tail = t * Vector256.Exp(Vector256.FusedMultiplyAdd(-z, z, p));
        var half = Vector256.Create(0.5f) * tail;
        var phi = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), Vector256<float>.One - half, half);
        if (!gradient) return x * phi;
        var density = Vector256.Exp(-(z * z)) * Vector256.Create(0.39894228f);
        return Vector256.FusedMultiplyAdd(x, density, phi);
    }

    /// <summary>
    /// x Phi(x), or Phi(x) + x phi(x) for the gradient, per lane (see <see cref="SpecialFunctions.NormalCdfSingle"/>),
    /// sixteen floats at a time where 512-bit vectors are native: in float the fit's polynomial and t carry relative errors near 1e-7, and the exponent
    /// p - z^2 is formed with one rounding (a fused multiply-add), which keeps the tail's relative
    /// error about 1e-6 even where z^2 is large: within float GELU's tolerance, at four times the lanes.
    /// </summary>
    private static Vector512<float> GeluLanes(Vector512<float> x, bool gradient)
    {
        var z = Vector512.Abs(x) * Vector512.Create(0.70710678f);
        var t = Vector512<float>.One / (Vector512<float>.One + Vector512.Create(0.5f) * z);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(0.17087277f), t, Vector512.Create(-0.82215223f));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(1.48851587f));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(-1.13520398f));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(0.27886807f));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(-0.18628806f));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(0.09678418f));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(0.37409196f));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(1.00002368f));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(-1.26551223f));
        var tail = t * Vector512.Exp(Vector512.FusedMultiplyAdd(-z, z, p));
        var half = Vector512.Create(0.5f) * tail;
        var phi = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), Vector512<float>.One - half, half);
        if (!gradient) return x * phi;
        // phi(x) = exp(-x^2 / 2) / sqrt(2 pi) = exp(-z^2) / sqrt(2 pi).
        var density = Vector512.Exp(-(z * z)) * Vector512.Create(0.39894228f);
        return Vector512.FusedMultiplyAdd(x, density, phi);
    }

    /// <summary>Phi(v) as precise as T needs: exact for double (gradient checks), to float precision otherwise (much faster).</summary>
    private static double NormalCdf<T>(double v) =>
        typeof(T) == typeof(double) ? SpecialFunctions.NormalCdf(v) : SpecialFunctions.NormalCdfSingle(v);
}
