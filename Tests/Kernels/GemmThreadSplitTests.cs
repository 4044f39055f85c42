using NUnit.Framework;
using Tensorium.Kernels.Cpu;

namespace Tensorium.Tests.Kernels;

/// <summary>
/// How the GEMM shares a product among threads, on machines with more cores than this 2-core VM
/// (a GPU host has 16): every thread that has tiles to take gets work.
/// </summary>
public class GemmThreadSplitTests
{
    private const int NR = 16;   // float, 256-bit tiles: 6 rows x 16 columns

    [TestCase(3, 12, 32, 2)]        // 2 x 2 tiles on 3 threads: two blocks (only exact factorings of 3 were tried: one)
    [TestCase(5, 24, 32, 4)]        // 4 x 2 tiles on 5 threads
    [TestCase(10, 18, 64, 9)]       // 3 x 4 tiles on 10 threads: 3 x 3
    [TestCase(8, 6, 48, 3)]         // one tile row, 3 tile columns on 8 threads
    [TestCase(2, 512, 3072, 2)]     // the usual case: all threads
    [TestCase(16, 2048, 2048, 16)]
    [TestCase(4, 6, 16, 1)]         // one tile: one thread
    public void EveryThreadWithTilesToTakeGetsABlock(int threads, int m, int n, int blocks)
    {
        GemmCore<float>.ChooseGrid(threads, m, n, NR, out int tm, out int tn);
        Assert.That(tm * tn, Is.EqualTo(blocks), $"grid {tm} x {tn}");
        Assert.That(tm, Is.LessThanOrEqualTo((m + GemmCore<float>.MR - 1) / GemmCore<float>.MR));
        Assert.That(tn, Is.LessThanOrEqualTo((n + NR - 1) / NR));
    }

    [Test]
    public void AGridOfTwoSplitsTheSideThatPacksLess()
    {
        // 512 x 3072: splitting the columns packs all of A's 512 rows and half of B's columns each,
        // splitting the rows all 3072 columns: the columns.
        GemmCore<float>.ChooseGrid(2, 512, 3072, NR, out int tm, out int tn);
        Assert.That((tm, tn), Is.EqualTo((1, 2)));
        GemmCore<float>.ChooseGrid(2, 3072, 512, NR, out tm, out tn);
        Assert.That((tm, tn), Is.EqualTo((2, 1)));
    }

    [TestCase(2, 2, 134_217_728L, true)]   // 2 x 512^3 on 2 threads: one matrix each
    [TestCase(3, 8, 134_217_728L, false)]  // 3 x 512^3 on 8 threads: each on all 8 (one each left 5 idle)
    [TestCase(2, 8, 134_217_728L, false)]
    [TestCase(16, 8, 134_217_728L, true)]  // a multiple of the threads
    [TestCase(3, 8, 1_000_000L, true)]     // small matrices: one each, no sync
    [TestCase(1, 8, 134_217_728L, false)]  // one matrix: nothing to share out
    public void ABatchIsSharedOutByMatrixOnlyWhenThatKeepsTheThreadsBusy(int batch, int threads, long flopsEach, bool byMatrix)
    {
        Assert.That(GemmCore<float>.SplitOverBatch(batch, flopsEach, threads), Is.EqualTo(byMatrix));
    }
}
