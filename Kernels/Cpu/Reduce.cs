using System.Numerics;
using System.Numerics.Tensors;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// Reductions over the rows of a contiguous [rows, cols] matrix. The engine brings any set of
/// axes into that form (permute the reduced axes last, copy if needed), so this is all it needs.
/// </summary>
public static unsafe class Reduce
{
    /// <summary>y[r] = op(x[r, 0..cols)).</summary>
    public static void Rows<T>(ReduceOp op, T* x, T* y, int rows, int cols, int correction = 1)
        where T : unmanaged, INumber<T>
    {
        nint px = (nint)x, py = (nint)y;
        CpuParallel.For(rows, r =>
        {
            var row = new ReadOnlySpan<T>((T*)px + (long)r * cols, cols);
            ((T*)py)[r] = op switch
            {
                ReduceOp.Sum => TensorPrimitives.Sum(row),
                ReduceOp.Mean => TensorPrimitives.Sum(row) / T.CreateTruncating(cols),
                ReduceOp.Max => TensorPrimitives.Max(row),
                ReduceOp.Min => TensorPrimitives.Min(row),
                ReduceOp.Var => Variance(row, correction),
                _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduction"),
            };
        }, cols);
    }

    /// <summary>
    /// y[c] = sum (or mean) of x[0..rows, c]: the reduction over the leading axes (a bias gradient).
    /// Wide rows are cut into column strips, one task each adding its strip down all the rows.
    /// Narrower ones are cut into bands of whole rows, each task adding its band into a partial
    /// row, streaming x as it lies; the few partial rows are then added. (A GEMM with a row of
    /// ones would first pack all of x.) Both split by the shape alone, never by the thread count,
    /// so the sums come out the same, bit for bit, on any number of threads.
    /// </summary>
    public static void Columns<T>(ReduceOp op, T* x, T* y, int rows, int cols) where T : unmanaged, INumber<T>
    {
        if (op is not (ReduceOp.Sum or ReduceOp.Mean))
            throw new ArgumentOutOfRangeException(nameof(op), op, "Reduce.Columns: expected sum or mean.");
        if (cols <= 0) return;
        if (rows <= 0) { new Span<T>(y, cols).Clear(); return; }
        nint px = (nint)x, py = (nint)y;
        var total = new Span<T>(y, cols);
        if (cols >= 2 * ColumnStrip)
        {
            // Strips of whole cache lines' worth of columns: each row's piece is a contiguous
            // read, and no partial rows are needed (they would grow with the row: a few rows of
            // millions of columns once took nearly the input's size in scratch).
            int strips = (cols + ColumnStrip - 1) / ColumnStrip;
            CpuParallel.For(strips, strip =>
            {
                int c0 = strip * ColumnStrip;
                SumRows((T*)px + c0, cols, 0, rows, new Span<T>((T*)py + c0, Math.Min(ColumnStrip, cols - c0)));
            }, (long)rows * ColumnStrip);
        }
        else
        {
            // Bands of at least 16K elements each (a smaller one is not worth a thread hand-off),
            // and at most MaxBands, so the partial rows (under 2 * ColumnStrip wide) stay few.
            int bands = (int)Math.Clamp((long)rows * cols / 16384, 1, Math.Min(rows, MaxBands));
            int perBand = (rows + bands - 1) / bands;
            bands = (rows + perBand - 1) / perBand;
            // Band 0 sums straight into y; the others into scratch rows of this thread's work buffer.
            T* partials = bands > 1 ? ThreadScratch.Work<T>((long)(bands - 1) * cols) : null;
            nint pp = (nint)partials;
            CpuParallel.For(bands, band =>
            {
                int r0 = band * perBand;
                SumRows((T*)px, cols, r0, Math.Min(rows, r0 + perBand), new Span<T>(band == 0 ? (T*)py : (T*)pp + (long)(band - 1) * cols, cols));
            }, (long)perBand * cols);
            for (int band = 1; band < bands; band++)
                TensorPrimitives.Add(total, new ReadOnlySpan<T>(partials + (long)(band - 1) * cols, cols), total);
        }
        if (op == ReduceOp.Mean) TensorPrimitives.Divide(total, T.CreateTruncating(rows), total);
    }

    /// <summary>
    /// sum = rows [r0, r1) of the matrix whose rows start <paramref name="cols"/> apart from
    /// <paramref name="x"/>, over sum's width, added in row order (the order the result depends on).
    /// </summary>
    private static void SumRows<T>(T* x, int cols, int r0, int r1, Span<T> sum) where T : unmanaged, INumber<T>
    {
        new ReadOnlySpan<T>(x + (long)r0 * cols, sum.Length).CopyTo(sum);
        for (int r = r0 + 1; r < r1; r++)
            TensorPrimitives.Add(sum, new ReadOnlySpan<T>(x + (long)r * cols, sum.Length), sum);
    }

    /// <summary>Columns per strip of a wide <see cref="Columns{T}"/> reduction: 4 KiB of float per row.</summary>
    private const int ColumnStrip = 1024;

    /// <summary>Row bands of a narrow <see cref="Columns{T}"/> reduction at most: four per thread on four cores, a fixed number so the sum does not depend on the threads.</summary>
    private const int MaxBands = 16;

    /// <summary>y[r] = index of the largest (or smallest) value of row r; the first one on ties.</summary>
    public static void ArgRows<T>(bool max, T* x, long* y, int rows, int cols) where T : unmanaged, INumber<T>
    {
        nint px = (nint)x, py = (nint)y;
        CpuParallel.For(rows, r =>
        {
            var row = new ReadOnlySpan<T>((T*)px + (long)r * cols, cols);
            ((long*)py)[r] = max ? TensorPrimitives.IndexOfMax(row) : TensorPrimitives.IndexOfMin(row);
        }, cols);
    }

    // Two passes (mean, then squared deviations): more accurate than E[x^2] - E[x]^2.
    private static T Variance<T>(ReadOnlySpan<T> row, int correction) where T : unmanaged, INumber<T>
    {
        T mean = TensorPrimitives.Sum(row) / T.CreateTruncating(row.Length);
        T sum = T.Zero;
        foreach (var v in row) sum += (v - mean) * (v - mean);
        return sum / T.CreateTruncating(row.Length - correction);
    }
}
