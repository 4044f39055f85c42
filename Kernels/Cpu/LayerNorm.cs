using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// Layer normalisation over the rows of a contiguous [rows, cols] matrix, forward and backward,
/// in one kernel each way instead of the eight elementwise and reduction ops it takes when
/// composed (mean, variance, subtract, add, rsqrt, multiply, multiply, add: each a pass over
/// memory and a temporary). One generic implementation serves float and double.
/// </summary>
/// <remarks>
/// <para>Numerics: the mean and the biased variance come from two passes over the row (the sum,
/// then the sum of squared deviations from the mean), which never loses precision to
/// cancellation as E[x²] - E[x]² does when the mean is large. A row of up to a few thousand
/// elements stays in L1 between the passes, so memory sees one read of x and one write of y.
/// Sums accumulate in the element type (float for float32, like PyTorch's CPU kernel's vector
/// lanes), in a fixed order that does not depend on the thread count.</para>
/// <para>Backward, with x̂ = (x - mean) rstd and g = dy · weight:
/// dx = rstd (g - mean(g) - x̂ mean(g x̂)); dweight = Σ_rows dy x̂; dbias = Σ_rows dy. The
/// column sums are accumulated per fixed chunk of rows (chunks depend only on the row count),
/// then the chunks' partial sums are added in chunk order: the same bits whatever the number of
/// threads.</para>
/// </remarks>
public static unsafe class LayerNorm
{
    /// <summary>The most chunks the backward pass cuts the rows into for the weight and bias sums.</summary>
    private const int MaxChunks = 64;

    /// <summary>The most elements the backward pass's partial sums take (4M: 16 MB in float32), however wide the rows.</summary>
    private const long PartialBudget = 1L << 22;

    /// <summary>
    /// y = (x - mean) rstd · weight + bias per row, with rstd = 1 / sqrt(var + eps); writes each
    /// row's mean and rstd for the backward pass. <paramref name="weight"/> and
    /// <paramref name="bias"/> ([cols]) may be null (scale 1, shift 0). y must not overlap x.
    /// </summary>
    public static void Forward<T>(T* x, T* weight, T* bias, T* y, T* mean, T* rstd, int rows, int cols, T eps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check("layer_norm", rows, cols);
        if (rows == 0 || cols == 0) return;
        T n = T.CreateChecked(cols);
        CpuParallel.ForRows(rows, (long)cols * 6, (start, end) =>
        {
            for (int r = start; r < end; r++)
            {
                T* xr = x + (long)r * cols;
                T mu = TensorPrimitives.Sum(new ReadOnlySpan<T>(xr, cols)) / n;
                T rs = T.One / T.Sqrt(SquaredDeviations(xr, cols, mu) / n + eps);
                mean[r] = mu;
                rstd[r] = rs;
                Normalise(xr, weight, bias, y + (long)r * cols, cols, mu, rs);
            }
        });
    }

    /// <summary>
    /// Gradients of <see cref="Forward"/> from the saved per-row <paramref name="mean"/> and
    /// <paramref name="rstd"/>: gradX [rows, cols], gradWeight and gradBias [cols], each written
    /// (not accumulated) and each optional (null: not wanted). <paramref name="weight"/> may be
    /// null (scale 1).
    /// </summary>
    public static void Backward<T>(T* x, T* weight, T* mean, T* rstd, T* gradY, T* gradX, T* gradWeight, T* gradBias, int rows, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check("layer_norm_backward", rows, cols);
        if (cols == 0) return;
        bool columns = gradWeight != null || gradBias != null;
        if (rows == 0)
        {
            // No rows: the column sums are empty sums.
            if (gradWeight != null) new Span<T>(gradWeight, cols).Clear();
            if (gradBias != null) new Span<T>(gradBias, cols).Clear();
            return;
        }
        T n = T.CreateChecked(cols);
        if (!columns)
        {
            CpuParallel.ForRows(rows, (long)cols * 8, (start, end) =>
            {
                for (int r = start; r < end; r++) Row(x, weight, mean, rstd, gradY, gradX, null, null, r, cols, n);
            });
            return;
        }
        // Fixed chunks (a function of rows alone) with their own partial column sums: [chunk][weight | bias][cols].
        // Wide rows get fewer chunks, so the partials stay within PartialBudget elements.
        int chunks = (int)Math.Min(Math.Min(rows, MaxChunks), Math.Max(1, PartialBudget / (2L * cols))), per = (rows + chunks - 1) / chunks;
        chunks = (rows + per - 1) / per;
        long stride = 2L * cols;
        T[] rented = ArrayPool<T>.Shared.Rent(checked((int)(chunks * stride)));
        try
        {
            fixed (T* pinned = rented)
            {
                T* partial = pinned;   // a fixed local cannot be captured by the lambda; a copy can
                CpuParallel.For(chunks, c =>
                {
                    T* pw = partial + c * stride, pb = pw + cols;
                    new Span<T>(pw, (int)stride).Clear();
                    int end = Math.Min(rows, (c + 1) * per);
                    for (int r = c * per; r < end; r++) Row(x, weight, mean, rstd, gradY, gradX, pw, pb, r, cols, n);
                }, (long)per * cols * 10);
                // Chunk order, whatever thread ran which chunk.
                if (gradWeight != null) SumChunks(partial, stride, chunks, gradWeight, cols);
                if (gradBias != null) SumChunks(partial + cols, stride, chunks, gradBias, cols);
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// One row of the backward pass: the row's sums of g and g x̂ (adding dy x̂ and dy into the
    /// chunk's column sums when <paramref name="pw"/> is given), then dx when <paramref name="gradX"/> is given.
    /// </summary>
    private static void Row<T>(T* x, T* weight, T* mean, T* rstd, T* gradY, T* gradX, T* pw, T* pb, int r, int cols, T n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long o = (long)r * cols;
        T* xr = x + o, dy = gradY + o;
        T mu = mean[r], rs = rstd[r];
        T sumG = T.Zero, sumGX = T.Zero;
        int j = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && cols >= Vector<T>.Count)
        {
            int w = Vector<T>.Count;
            Vector<T> vmu = new(mu), vrs = new(rs), g0 = Vector<T>.Zero, gx0 = Vector<T>.Zero;
            for (; j + w <= cols; j += w)
            {
                var d = Vector.Load(dy + j);
                var xhat = (Vector.Load(xr + j) - vmu) * vrs;
                var g = weight == null ? d : d * Vector.Load(weight + j);
                g0 += g;
                gx0 += g * xhat;
                if (pw != null)
                {
                    Vector.Store(Vector.Load(pw + j) + d * xhat, pw + j);
                    Vector.Store(Vector.Load(pb + j) + d, pb + j);
                }
            }
            sumG = Vector.Sum(g0);
            sumGX = Vector.Sum(gx0);
        }
        for (; j < cols; j++)
        {
            T d = dy[j], xhat = (xr[j] - mu) * rs, g = weight == null ? d : d * weight[j];
            sumG += g;
            sumGX += g * xhat;
            if (pw != null)
            {
                pw[j] += d * xhat;
                pb[j] += d;
            }
        }
        if (gradX == null) return;
        // dx = rs g - rs mean(g) - x̂ rs mean(g x̂), with the two row constants folded once.
        T shift = rs * sumG / n, slope = rs * sumGX / n;
        T* dx = gradX + o;
        j = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && cols >= Vector<T>.Count)
        {
            int w = Vector<T>.Count;
            Vector<T> vmu = new(mu), vrs = new(rs), vshift = new(shift), vslope = new(slope);
            for (; j + w <= cols; j += w)
            {
                var d = Vector.Load(dy + j);
                var g = weight == null ? d : d * Vector.Load(weight + j);
                var xhat = (Vector.Load(xr + j) - vmu) * vrs;
                Vector.Store(vrs * g - vshift - xhat * vslope, dx + j);
            }
        }
        for (; j < cols; j++)
        {
            T d = dy[j], g = weight == null ? d : d * weight[j], xhat = (xr[j] - mu) * rs;
            dx[j] = rs * g - shift - xhat * slope;
        }
    }

    /// <summary>Σ (x - mu)² over a row, in vector lanes then across them.</summary>
    private static T SquaredDeviations<T>(T* x, int n, T mu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        T sum = T.Zero;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && n >= Vector<T>.Count)
        {
            int w = Vector<T>.Count;
            // Two accumulators hide the add latency.
            Vector<T> m = new(mu), a0 = Vector<T>.Zero, a1 = Vector<T>.Zero;
            for (; j + 2 * w <= n; j += 2 * w)
            {
                var d0 = Vector.Load(x + j) - m;
                var d1 = Vector.Load(x + j + w) - m;
                a0 += d0 * d0;
                a1 += d1 * d1;
            }
            for (; j + w <= n; j += w)
            {
                var d = Vector.Load(x + j) - m;
                a0 += d * d;
            }
            sum = Vector.Sum(a0 + a1);
        }
        for (; j < n; j++)
        {
            T d = x[j] - mu;
            sum += d * d;
        }
        return sum;
    }

    /// <summary>y = (x - mu) rs · weight + bias over one row (weight, bias optional).</summary>
    private static void Normalise<T>(T* x, T* weight, T* bias, T* y, int n, T mu, T rs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && n >= Vector<T>.Count)
        {
            int w = Vector<T>.Count;
            Vector<T> m = new(mu), s = new(rs);
            for (; j + w <= n; j += w)
            {
                var v = (Vector.Load(x + j) - m) * s;
                if (weight != null) v *= Vector.Load(weight + j);
                if (bias != null) v += Vector.Load(bias + j);
                Vector.Store(v, y + j);
            }
        }
        for (; j < n; j++)
        {
            T v = (x[j] - mu) * rs;
            if (weight != null) v *= weight[j];
            if (bias != null) v += bias[j];
            y[j] = v;
        }
    }

    /// <summary>total[c] = Σ_k partial[k stride + c] over the chunks, in chunk order.</summary>
    private static void SumChunks<T>(T* partial, long stride, int chunks, T* total, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sum = new Span<T>(total, cols);
        new ReadOnlySpan<T>(partial, cols).CopyTo(sum);
        for (int k = 1; k < chunks; k++) TensorPrimitives.Add(sum, new ReadOnlySpan<T>(partial + k * stride, cols), sum);
    }

    private static void Check(string op, int rows, int cols)
    {
        if (rows < 0 || cols < 0)
            throw new ArgumentOutOfRangeException(rows < 0 ? nameof(rows) : nameof(cols),
                $"{op}: expected a non-negative shape, got rows={rows}, cols={cols}.");
    }
}
