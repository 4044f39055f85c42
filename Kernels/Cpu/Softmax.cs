using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// Softmax and log-softmax over the last axis of a contiguous rows x cols matrix, forward and
/// backward. One generic implementation serves float and double (and, through a scalar path,
/// any other IEEE floating-point type).
/// </summary>
/// <remarks>
/// <para>Numerical stability: every row is shifted by its maximum before exponentiating, so
/// the largest exponent is exp(0) = 1 and inputs such as 1000 cannot overflow.</para>
/// <para>Special values follow PyTorch: a row whose entries are all -inf gives NaN everywhere
/// (the shift is -inf - -inf = NaN), a row containing +inf or NaN gives NaN as well. Callers
/// that want "fully masked row gives 0" semantics (as attention does) handle that themselves.</para>
/// <para>Memory traffic: a row is read once to find its maximum, once to exponentiate and sum
/// (writing the result), and the result is rescaled in place. Rows of up to a few thousand
/// elements stay in L1/L2 between those passes, so main memory sees about one read and one write.</para>
/// </remarks>
public static unsafe class Softmax
{
    /// <summary>
    /// y = softmax(x) along each row. <paramref name="x"/> and <paramref name="y"/> may be the
    /// same buffer (in-place); any other overlap is not allowed.
    /// </summary>
    public static void Forward<T>(T* x, T* y, int rows, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check("softmax", rows, cols);
        CpuParallel.ForRows(rows, (long)cols * 4, (start, end) =>
        {
            for (int r = start; r < end; r++)
            {
                T* xr = x + (long)r * cols, yr = y + (long)r * cols;
                T max = RowMax(xr, cols);
                // The exp pass is compute-bound, so it also pulls the next row into the cache;
                // without that, every row's first read waits on memory (1.3-1.6x slower on 4096x1024).
                // Only this chunk's rows: the next chunk's belong to another thread.
                bool more = r + 1 < end;
                T sum = ExpShiftSum(xr, yr, cols, max, more ? xr + cols : null, more ? yr + cols : null);
                // One division per row, then a multiply per element: division is several
                // times slower than multiplication in the vector units.
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(yr, cols), T.One / sum, new Span<T>(yr, cols));
            }
        });
    }

    /// <summary>
    /// y = log_softmax(x) = x - max - log(sum(exp(x - max))) along each row.
    /// <paramref name="x"/> and <paramref name="y"/> may be the same buffer.
    /// </summary>
    public static void LogForward<T>(T* x, T* y, int rows, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check("log_softmax", rows, cols);
        CpuParallel.ForRows(rows, (long)cols * 4, (start, end) =>
        {
            for (int r = start; r < end; r++)
            {
                T* xr = x + (long)r * cols, yr = y + (long)r * cols;
                T max = RowMax(xr, cols);
                // Only the sum of exponentials is needed, so nothing is stored (y may alias x,
                // which is still needed for the final subtraction).
                bool more = r + 1 < end;
                T sum = ExpShiftSum(xr, null, cols, max, more ? xr + cols : null, more ? yr + cols : null);
                ShiftTwice(xr, yr, cols, max, T.Log(sum));
            }
        });
    }

    /// <summary>
    /// Gradient of softmax: gradX = y * (gradY - sum(gradY * y)) per row, where y is the
    /// forward output. gradX may alias gradY or y.
    /// </summary>
    public static void Backward<T>(T* y, T* gradY, T* gradX, int rows, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check("softmax_backward", rows, cols);
        CpuParallel.ForRows(rows, (long)cols * 3, (start, end) =>
        {
            for (int r = start; r < end; r++)
            {
                long o = (long)r * cols;
                var yr = new ReadOnlySpan<T>(y + o, cols);
                var gy = new ReadOnlySpan<T>(gradY + o, cols);
                T dot = TensorPrimitives.Dot(gy, yr);
                // (gradY + (-dot)) * y in one fused pass, safe when gradX aliases an input.
                TensorPrimitives.AddMultiply(gy, -dot, yr, new Span<T>(gradX + o, cols));
            }
        });
    }

    /// <summary>
    /// Gradient of log-softmax: gradX = gradY - exp(y) * sum(gradY) per row, where y is the
    /// forward output (so exp(y) is the softmax). gradX may alias gradY or y.
    /// </summary>
    public static void LogBackward<T>(T* y, T* gradY, T* gradX, int rows, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check("log_softmax_backward", rows, cols);
        CpuParallel.ForRows(rows, (long)cols * 4, (start, end) =>
        {
            for (int r = start; r < end; r++)
            {
                long o = (long)r * cols;
                T sum = TensorPrimitives.Sum(new ReadOnlySpan<T>(gradY + o, cols));
                GradMinusExpTimes(y + o, gradY + o, gradX + o, cols, sum);
            }
        });
    }

    private static void Check(string op, int rows, int cols)
    {
        if (rows < 0 || cols < 0)
            throw new ArgumentOutOfRangeException(rows < 0 ? nameof(rows) : nameof(cols),
                $"{op}: expected a non-negative shape, got rows={rows}, cols={cols}.");
    }

    /// <summary>
    /// Maximum of a row, used only as the shift that keeps exp from overflowing. It does not
    /// propagate NaN (TensorPrimitives.Max does, at a cost): a NaN in the row already turns the
    /// exp-sum, and so the whole row, into NaN.
    /// </summary>
    internal static T RowMax<T>(T* x, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        T max = T.NegativeInfinity;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported && n >= Vector256<T>.Count)
        {
            int w = Vector256<T>.Count;
            // Four independent accumulators hide the latency of the max instruction.
            var m0 = Vector256.Create(T.NegativeInfinity);
            Vector256<T> m1 = m0, m2 = m0, m3 = m0;
            for (; j + 4 * w <= n; j += 4 * w)
            {
                m0 = Vector256.MaxNative(m0, Vector256.Load(x + j));
                m1 = Vector256.MaxNative(m1, Vector256.Load(x + j + w));
                m2 = Vector256.MaxNative(m2, Vector256.Load(x + j + 2 * w));
                m3 = Vector256.MaxNative(m3, Vector256.Load(x + j + 3 * w));
            }
            for (; j + w <= n; j += w) m0 = Vector256.MaxNative(m0, Vector256.Load(x + j));
            m0 = Vector256.MaxNative(Vector256.MaxNative(m0, m1), Vector256.MaxNative(m2, m3));
            for (int e = 0; e < w; e++) max = m0.GetElement(e) > max ? m0.GetElement(e) : max;
        }
        for (; j < n; j++) max = x[j] > max ? x[j] : max;
        return max;
    }

    /// <summary>
    /// Fused pass: y[j] = exp(x[j] - shift) for j &lt; n and returns the sum of those values.
    /// When <paramref name="y"/> is null only the sum is computed. x and y may be the same buffer.
    /// Optionally, and only for float, the pass also prefetches n elements from each of
    /// <paramref name="prefetchX"/> and <paramref name="prefetchY"/> (the caller's next row): one
    /// cache line per step, so memory streams while the exps compute.
    /// </summary>
    internal static T ExpShiftSum<T>(T* x, T* y, int n, T shift, T* prefetchX = null, T* prefetchY = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && VectorExp.IsSupported)
            return Unsafe.BitCast<float, T>(ExpShiftSumFloat((float*)x, (float*)y, n, Unsafe.BitCast<T, float>(shift),
                (float*)prefetchX, (float*)prefetchY));
        int j = 0;
        T sum = T.Zero;
        if (HasLibraryExp<T>())
        {
            var s = Vector256.Create(shift);
            Vector256<T> acc = Vector256<T>.Zero;
            for (; j + Vector256<T>.Count <= n; j += Vector256<T>.Count)
            {
                var e = LibraryExp(Vector256.Load(x + j) - s);
                if (y != null) e.Store(y + j);
                acc += e;
            }
            sum = Vector256.Sum(acc);
        }
        for (; j < n; j++)
        {
            T e = T.Exp(x[j] - shift);
            if (y != null) y[j] = e;
            sum += e;
        }
        return sum;
    }

    /// <summary>True when the library's Vector256.Exp can serve T (float or double); float callers try <see cref="VectorExp"/> first.</summary>
    private static bool HasLibraryExp<T>() =>
        Vector256.IsHardwareAccelerated && (typeof(T) == typeof(double) || typeof(T) == typeof(float));

    /// <summary>The library's vector exp for T = float or double (the type tests are resolved by the JIT).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> LibraryExp<T>(Vector256<T> v) =>
        typeof(T) == typeof(float) ? Vector256.Exp(v.AsSingle()).As<float, T>() : Vector256.Exp(v.AsDouble()).As<double, T>();

    /// <summary>The float case of <see cref="ExpShiftSum{T}"/>, two vectors per step for <see cref="VectorExp.Pair"/>.</summary>
    private static float ExpShiftSumFloat(float* x, float* y, int n, float shift, float* prefetchX, float* prefetchY)
    {
        int j = 0;
        var s = Vector256.Create(shift);
        Vector256<float> sum0 = Vector256<float>.Zero, sum1 = Vector256<float>.Zero;
        for (; j + 16 <= n; j += 16)   // 16 floats: one 64-byte cache line
        {
            if (prefetchX != null) Sse.Prefetch0(prefetchX + j);
            if (prefetchY != null) Sse.Prefetch0(prefetchY + j);
            VectorExp.Pair(Vector256.Load(x + j) - s, Vector256.Load(x + j + 8) - s, out var e0, out var e1);
            if (y != null) { e0.Store(y + j); e1.Store(y + j + 8); }
            sum0 += e0;
            sum1 += e1;
        }
        if (j + 8 <= n)
        {
            var v = Vector256.Load(x + j) - s;
            VectorExp.Pair(v, v, out var e, out _);
            if (y != null) e.Store(y + j);
            sum0 += e;
            j += 8;
        }
        float sum = Vector256.Sum(sum0 + sum1);
        for (; j < n; j++)
        {
            float e = MathF.Exp(x[j] - shift);
            if (y != null) y[j] = e;
            sum += e;
        }
        return sum;
    }

    /// <summary>
    /// y[j] = (x[j] - max) - logSum. Subtracting in two steps is more accurate than subtracting
    /// (max + logSum): x - max is exact for entries near the maximum, whereas max + logSum is
    /// rounded at the magnitude of max (an absolute error of 6e-5 in float when max is 1000).
    /// </summary>
    private static void ShiftTwice<T>(T* x, T* y, int n, T max, T logSum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            int w = Vector256<T>.Count;
            Vector256<T> m = Vector256.Create(max), l = Vector256.Create(logSum);
            for (; j + w <= n; j += w)
                (Vector256.Load(x + j) - m - l).Store(y + j);
        }
        for (; j < n; j++) y[j] = x[j] - max - logSum;
    }

    /// <summary>gradX[j] = gradY[j] - exp(y[j]) * sum, in one pass (any exact aliasing is safe).</summary>
    private static void GradMinusExpTimes<T>(T* y, T* gradY, T* gradX, int n, T sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        if (typeof(T) == typeof(float) && VectorExp.IsSupported)
        {
            var s = Vector256.Create(sum);
            float* fy = (float*)y;
            for (; j + 16 <= n; j += 16)
            {
                VectorExp.Pair(Vector256.Load(fy + j), Vector256.Load(fy + j + 8), out var e0, out var e1);
                (Vector256.Load(gradY + j) - e0.As<float, T>() * s).Store(gradX + j);
                (Vector256.Load(gradY + j + 8) - e1.As<float, T>() * s).Store(gradX + j + 8);
            }
        }
        else if (HasLibraryExp<T>())
        {
            var s = Vector256.Create(sum);
            for (; j + Vector256<T>.Count <= n; j += Vector256<T>.Count)
                (Vector256.Load(gradY + j) - LibraryExp(Vector256.Load(y + j)) * s).Store(gradX + j);
        }
        for (; j < n; j++)
            gradX[j] = gradY[j] - T.Exp(y[j]) * sum;
    }
}
