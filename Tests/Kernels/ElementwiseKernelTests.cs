using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Kernels;

/// <summary>
/// The CPU elementwise kernels where they split work: rows walked by an odometer (strided copies)
/// and long contiguous rows cut into pieces (binary ops), against plain scalar loops.
/// </summary>
[TestFixture]
public unsafe class ElementwiseKernelTests
{
    [Test]
    public void RowOffsetsWalkTheSameRowsAsRowOffset()
    {
        // A permuted [5, 3, 7, 4] (strides of the original layout) and a broadcast operand (stride 0).
        var index = new StridedIndex([7, 5, 3, 4], [4, 84, 28, 1], [0, 12, 4, 1]);
        int rows = index.RowCount;
        Assert.That(rows, Is.EqualTo(105));
        foreach (int first in new[] { 0, 1, 2, 6, 14, 50, 104 })
            for (int operand = 0; operand < 2; operand++)
            {
                var offsets = new int[rows - first];
                index.RowOffsets(operand, first, offsets);
                for (int i = 0; i < offsets.Length; i++)
                    Assert.That(offsets[i], Is.EqualTo(index.RowOffset(operand, first + i)), $"operand {operand}, row {first + i}");
            }
    }

    [Test]
    public void StridedCopyOfShortRowsMatchesAScalarLoop([Values(1, 2)] int threads)
    {
        // [B, L, H, Dh] -> [B, H, L, Dh]: the attention head split, rows of Dh = 5 values.
        int[] shape = [3, 4, 37, 5];
        int[] srcStrides = [37 * 4 * 5, 5, 4 * 5, 1];
        var src = Enumerable.Range(0, 3 * 37 * 4 * 5).Select(i => (float)i).ToArray();
        var dst = new float[src.Length];
        using (CpuThreads.Use(threads))
            fixed (float* ps = src, pd = dst)
                Elementwise.Copy(shape, ps, srcStrides, pd, [4 * 37 * 5, 37 * 5, 5, 1]);
        for (int b = 0; b < 3; b++)
            for (int h = 0; h < 4; h++)
                for (int l = 0; l < 37; l++)
                    for (int e = 0; e < 5; e++)
                        Assert.That(dst[((b * 4 + h) * 37 + l) * 5 + e], Is.EqualTo(src[b * srcStrides[0] + h * 5 + l * 20 + e]));
    }

    [Test]
    public void BinaryOnLongRowsMatchesAScalarLoop([Values(1, 2)] int threads)
    {
        // [2, 50001] times a broadcast row, and one contiguous row of 100003 plus a scalar: both longer than one piece.
        const int cols = 50_001, n = 100_003;
        var rng = new Random(5);
        var a = Enumerable.Range(0, 2 * cols).Select(_ => (float)rng.NextDouble()).ToArray();
        var b = Enumerable.Range(0, cols).Select(_ => (float)rng.NextDouble()).ToArray();
        var y = new float[a.Length];
        var c = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
        var z = new float[n];
        float scalar = 0.25f;
        using (CpuThreads.Use(threads))
            fixed (float* pa = a, pb = b, py = y, pc = c, pz = z)
            {
                Elementwise.Binary(BinaryOp.Mul, [2, cols], pa, [cols, 1], pb, [0, 1], py);
                Elementwise.Binary(BinaryOp.Add, [n], pc, [1], &scalar, [0], pz);
            }
        for (int i = 0; i < y.Length; i++) Assert.That(y[i], Is.EqualTo(a[i] * b[i % cols]), $"mul at {i}");
        for (int i = 0; i < n; i++) Assert.That(z[i], Is.EqualTo(c[i] + scalar), $"add at {i}");
    }
}
