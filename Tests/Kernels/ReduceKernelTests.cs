using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Kernels;

/// <summary>
/// The CPU column reduction (sum or mean over the leading axes: every bias gradient) against a
/// plain double loop, on shapes that split into uneven bands of rows across threads.
/// </summary>
[TestFixture]
public unsafe class ReduceKernelTests
{
    private static readonly (int Rows, int Cols)[] Shapes =
        { (1, 1), (1, 7), (3, 1), (67, 45), (1037, 67), (3, 20001), (2048, 128), (5000, 5), (37, 2049), (600, 3000) };

    [Test]
    public void ColumnsMatchAScalarLoop([Values(1, 2, 3)] int threads, [Values(ReduceOp.Sum, ReduceOp.Mean)] ReduceOp op)
    {
        using (CpuThreads.Use(threads))
        {
            foreach (var (rows, cols) in Shapes)
            {
                var rng = new Random(rows * 31 + cols);
                var x = new float[rows * cols];
                for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
                var y = new float[cols];
                fixed (float* px = x, py = y) Reduce.Columns(op, px, py, rows, cols);
                for (int c = 0; c < cols; c++)
                {
                    double expected = 0, magnitude = 0;
                    for (int r = 0; r < rows; r++) { expected += x[r * cols + c]; magnitude += Math.Abs(x[r * cols + c]); }
                    if (op == ReduceOp.Mean) { expected /= rows; magnitude /= rows; }
                    // float accumulation: rounding grows with the number of terms, relative to their magnitudes.
                    Assert.That(y[c], Is.EqualTo(expected).Within(1e-6 * magnitude * Math.Sqrt(rows) + 1e-7),
                        $"{op} of [{rows}, {cols}] column {c}, {threads} threads");
                }
            }
        }
    }

    [Test]
    public void ColumnsDouble()
    {
        const int rows = 301, cols = 33;
        var x = Enumerable.Range(0, rows * cols).Select(i => Math.Sin(i * 0.37)).ToArray();
        var y = new double[cols];
        fixed (double* px = x, py = y) Reduce.Columns(ReduceOp.Sum, px, py, rows, cols);
        for (int c = 0; c < cols; c++)
            Assert.That(y[c], Is.EqualTo(Enumerable.Range(0, rows).Sum(r => x[r * cols + c])).Within(1e-12));
    }

    [Test]
    public void ColumnsAreTheSameBitForBitOnAnyNumberOfThreads()
    {
        // Narrow (bands of rows with partial sums) and wide (column strips); float rounding would
        // show any change in the order the rows are added.
        foreach (var (rows, cols) in new[] { (5000, 40), (40000, 3), (300, 5000) })
        {
            var rng = new Random(rows + cols);
            var x = new float[rows * cols];
            for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * (i % 7 == 0 ? 1000 : 1);
            float[] Sum(int threads)
            {
                var y = new float[cols];
                using (CpuThreads.Use(threads))
                    fixed (float* px = x, py = y) Reduce.Columns(ReduceOp.Sum, px, py, rows, cols);
                return y;
            }
            var one = Sum(1);
            Assert.That(Sum(2), Is.EqualTo(one), $"[{rows}, {cols}] on 2 threads");
            Assert.That(Sum(3), Is.EqualTo(one), $"[{rows}, {cols}] on 3 threads");
            Assert.That(Sum(8), Is.EqualTo(one), $"[{rows}, {cols}] on 8 threads");
        }
    }
}
