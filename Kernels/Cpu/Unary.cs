using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

/// <summary>Unary elementwise kernels over contiguous spans, vectorised through TensorPrimitives, split across threads.</summary>
public static unsafe class Unary
{
    private const int Chunk = 1 << 15;

    /// <summary>
    /// Take float GELU sixteen lanes at a time. Only worth it where the hardware runs 512-bit
    /// vectors natively; a field so tests can force the (software-emulated) path elsewhere, and
    /// the AVX-512 code is checked on every machine rather than only on AVX-512 ones.
    /// </summary>
    internal static bool UseVector512 = Vector512.IsHardwareAccelerated;

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
    /// Float GELU (or its derivative) in float lanes, sixteen with AVX-512 (<see cref="UseVector512"/>), else eight with AVX2,
    /// both with the fast <see cref="VectorExp"/>: the same fit as the scalar path (<see cref="SpecialFunctions.NormalCdfSingle"/>; the coefficients
    /// are repeated inline so the JIT keeps them in registers) with vector exp, so a row costs about
    /// as much as a float exp rather than a scalar double exp per element. (AVX2 once took four
    /// double lanes with the library's exp, which made GELU and its gradient the slowest ops of the
    /// transformer step after the matrix products; AVX-512 too used the library's exp until its own
    /// sixteen-lane one: 1M floats on 2 Zen 4 threads, GELU 693 -> 445 us, its gradient 1308 -> 628 us.)
    /// The lane helpers are forced inline: as calls,
    /// their vector arguments and results went through the stack, which halved the speed (1M
    /// floats on 2 threads: GELU 2.8 -> 1.35 ms, its gradient 3.4 -> 2.2 ms).
    /// </summary>
    private static void GeluFloat(ReadOnlySpan<float> x, Span<float> y, bool gradient)
    {
        int i = 0;
        if (UseVector512)
        {
            for (; i + Vector512<float>.Count <= x.Length; i += Vector512<float>.Count)
                GeluLanes(Vector512.Create(x.Slice(i, Vector512<float>.Count)), gradient).CopyTo(y.Slice(i));
        }
        else if (VectorExp.IsSupported)
        {
            // Two vectors a step: VectorExp.Pair interleaves their exp chains (see its remarks).
            int w = Vector256<float>.Count;
            for (; i + 2 * w <= x.Length; i += 2 * w)
            {
                GeluLanes(Vector256.Create(x.Slice(i, w)), Vector256.Create(x.Slice(i + w, w)), gradient, out var y0, out var y1);
                y0.CopyTo(y.Slice(i));
                y1.CopyTo(y.Slice(i + w));
            }
            if (i + w <= x.Length)
            {
                var x0 = Vector256.Create(x.Slice(i, w));
                GeluLanes(x0, x0, gradient, out var y0, out _);
                y0.CopyTo(y.Slice(i));
                i += w;
            }
        }
        for (; i < x.Length; i++)
        {
            double v = x[i], phi = SpecialFunctions.NormalCdfSingle(v);
            y[i] = (float)(gradient ? phi + v * SpecialFunctions.NormalPdf(v) : v * phi);
        }
    }

    /// <summary>
    /// The float lanes of <see cref="GeluLanes(Vector512{float}, bool)"/> on AVX2, two vectors of
    /// eight at a time, with <see cref="VectorExp"/> (under 0.9 ulp, several times faster than
    /// Vector256.Exp, which computes in double): its arguments p - z^2 and -z^2 are at most about 0,
    /// and below ln(FLT_MIN) it gives 0, where the tail and density are negligible anyway.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GeluLanes(Vector256<float> x0, Vector256<float> x1, bool gradient, out Vector256<float> y0, out Vector256<float> y1)
    {
        var z0 = Vector256.Abs(x0) * Vector256.Create(0.70710678f);
        var z1 = Vector256.Abs(x1) * Vector256.Create(0.70710678f);
        var t0 = TailFit(z0, out var p0);
        var t1 = TailFit(z1, out var p1);
        VectorExp.Pair(Vector256.FusedMultiplyAdd(-z0, z0, p0), Vector256.FusedMultiplyAdd(-z1, z1, p1), out var e0, out var e1);
        var phi0 = Cdf(x0, t0 * e0);
        var phi1 = Cdf(x1, t1 * e1);
        if (!gradient)
        {
            y0 = x0 * phi0;
            y1 = x1 * phi1;
            return;
        }
        // phi(x) = exp(-x^2 / 2) / sqrt(2 pi) = exp(-z^2) / sqrt(2 pi).
        VectorExp.Pair(-(z0 * z0), -(z1 * z1), out var d0, out var d1);
        y0 = Vector256.FusedMultiplyAdd(x0, d0 * Vector256.Create(0.39894228f), phi0);
        y1 = Vector256.FusedMultiplyAdd(x1, d1 * Vector256.Create(0.39894228f), phi1);
    }

    /// <summary>t = 1 / (1 + z/2) and the fit's polynomial p(t) (Horner's rule), for the tail t exp(p - z^2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> TailFit(Vector256<float> z, out Vector256<float> p)
    {
        var t = Vector256<float>.One / (Vector256<float>.One + Vector256.Create(0.5f) * z);
        p = Vector256.FusedMultiplyAdd(Vector256.Create(0.17087277f), t, Vector256.Create(-0.82215223f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(1.48851587f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(-1.13520398f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(0.27886807f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(-0.18628806f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(0.09678418f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(0.37409196f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(1.00002368f));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(-1.26551223f));
        return t;
    }

    /// <summary>Phi(x) from the tail erfc(|x| / sqrt 2) = tail: 1 - tail/2 for x &gt;= 0, tail/2 below.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Cdf(Vector256<float> x, Vector256<float> tail)
    {
        var half = Vector256.Create(0.5f) * tail;
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), Vector256<float>.One - half, half);
    }

    /// <summary>
    /// x Phi(x), or Phi(x) + x phi(x) for the gradient, per lane (see <see cref="SpecialFunctions.NormalCdfSingle"/>),
    /// sixteen floats at a time where 512-bit vectors are native: in float the fit's polynomial and t carry relative errors near 1e-7, and the exponent
    /// p - z^2 is formed with one rounding (a fused multiply-add), which keeps the tail's relative
    /// error about 1e-6 even where z^2 is large: within float GELU's tolerance, at four times the lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
        var tail = t * VectorExp.Exp(Vector512.FusedMultiplyAdd(-z, z, p));
        var half = Vector512.Create(0.5f) * tail;
        var phi = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), Vector512<float>.One - half, half);
        if (!gradient) return x * phi;
        // phi(x) = exp(-x^2 / 2) / sqrt(2 pi) = exp(-z^2) / sqrt(2 pi).
        var density = VectorExp.Exp(-(z * z)) * Vector512.Create(0.39894228f);
        return Vector512.FusedMultiplyAdd(x, density, phi);
    }

    /// <summary>Phi(v) as precise as T needs: exact for double (gradient checks), to float precision otherwise (much faster).</summary>
    private static double NormalCdf<T>(double v) =>
        typeof(T) == typeof(double) ? SpecialFunctions.NormalCdf(v) : SpecialFunctions.NormalCdfSingle(v);
}
