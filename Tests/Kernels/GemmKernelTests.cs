using NUnit.Framework;
using Tensorium.Kernels.Cpu;

namespace Tensorium.Tests.Kernels;

/// <summary>
/// Gemm kernels against a plain triple loop (accumulated in double) on shapes chosen to hit every
/// edge of the blocked implementation: empty and 1-element sizes, odd sizes, sizes straddling the
/// micro-tile (6 x 16), the k block (256), the m block (144) and the n panel (4032), padded
/// leading dimensions, all four transpose combinations, beta = 0 over NaN garbage, and batches.
/// </summary>
[TestFixture]
public unsafe class GemmKernelTests
{
    private static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (0, 5, 3), (3, 0, 4), (4, 5, 0), (1, 17, 1), (2, 3, 4),
        (67, 45, 33), (5, 300, 7), (300, 5, 7), (6, 16, 256), (7, 17, 257), (5, 15, 255),
        (12, 32, 512), (143, 145, 255), (145, 33, 513), (150, 64, 40), (200, 190, 150),
        (7, 4100, 5), (64, 1, 300), (1, 64, 300),
    ];

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (var (m, n, k) in Shapes)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    yield return new TestCaseData(m, n, k, ta, tb).SetName($"{m}x{n}x{k}_tA{ta}_tB{tb}");
    }

    // ------------------------------------------------------------------ reference and helpers

    /// <summary>Element (row r, column c) of op(X) for a row-major X with leading dimension ld.</summary>
    private static double At<T>(T[] x, long offset, bool trans, int ld, int r, int c) where T : struct, IConvertible
        => Convert.ToDouble(trans ? x[offset + (long)c * ld + r] : x[offset + (long)r * ld + c]);

    private static double[] Reference<T>(bool ta, bool tb, int m, int n, int k, double alpha, T[] a, long offA, int lda,
        T[] b, long offB, int ldb, double beta, T[] c, long offC, int ldc) where T : struct, IConvertible
    {
        var result = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                    sum += At(a, offA, ta, lda, i, p) * At(b, offB, tb, ldb, p, j);
                double old = beta == 0 ? 0 : Convert.ToDouble(c[offC + (long)i * ldc + j]);
                result[i * n + j] = alpha * sum + beta * old;
            }
        return result;
    }

    private static float[] RandomFloats(Random rng, long count) =>
        Enumerable.Range(0, (int)count).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

    private static double[] RandomDoubles(Random rng, long count) =>
        Enumerable.Range(0, (int)count).Select(_ => rng.NextDouble() * 2 - 1).ToArray();

    /// <summary>Rows and columns of the stored (not transposed) matrix behind op(X) = rows x cols.</summary>
    private static (int Rows, int Cols) Stored(bool trans, int rows, int cols) => trans ? (cols, rows) : (rows, cols);

    private static void AssertClose<T>(double[] expected, T[] actual, long offC, int m, int n, int ldc, double tol, string what)
        where T : struct, IConvertible
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double got = Convert.ToDouble(actual[offC + (long)i * ldc + j]);
                double want = expected[i * n + j];
                if (!(Math.Abs(got - want) <= tol))
                    Assert.Fail($"{what}: C[{i},{j}] = {got}, expected {want} (tolerance {tol})");
            }
    }

    /// <summary>Padding after each row must be left alone by the kernel.</summary>
    private static void AssertPaddingUntouched(float[] c, int m, int n, int ldc, float marker)
    {
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc; j++)
                Assert.That(c[(long)i * ldc + j], Is.EqualTo(marker), $"padding C[{i},{j}] was overwritten");
    }

    // ------------------------------------------------------------------ Sgemm

    [TestCaseSource(nameof(Cases))]
    public void Sgemm_BetaZero_IgnoresNaNInC(int m, int n, int k, bool ta, bool tb)
    {
        var rng = new Random(m * 7919 + n * 31 + k);
        var (ar, ac) = Stored(ta, m, k);
        var (br, bc) = Stored(tb, k, n);
        int lda = ac, ldb = bc, ldc = n;
        float[] a = RandomFloats(rng, (long)ar * lda), b = RandomFloats(rng, (long)br * ldb);
        float[] c = Enumerable.Repeat(float.NaN, Math.Max(1, m * ldc)).ToArray();
        double[] want = Reference(ta, tb, m, n, k, 1.0, a, 0, lda, b, 0, ldb, 0.0, c, 0, ldc);
        fixed (float* pa = a, pb = b, pc = c)
            Gemm.Sgemm(ta, tb, m, n, k, 1f, pa, lda, pb, ldb, 0f, pc, ldc);
        AssertClose(want, c, 0, m, n, ldc, 1e-5 * (k + 1), "Sgemm beta=0");
    }

    [TestCaseSource(nameof(Cases))]
    public void Sgemm_AlphaBeta_PaddedLeadingDimensions(int m, int n, int k, bool ta, bool tb)
    {
        var rng = new Random(m * 31 + n * 7919 + k * 3);
        var (ar, ac) = Stored(ta, m, k);
        var (br, bc) = Stored(tb, k, n);
        int lda = ac + 3, ldb = bc + 5, ldc = n + 7;
        const float marker = 12345f;
        float[] a = RandomFloats(rng, (long)ar * lda), b = RandomFloats(rng, (long)br * ldb);
        float[] c = RandomFloats(rng, (long)m * ldc);
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc; j++) c[(long)i * ldc + j] = marker;
        double[] want = Reference(ta, tb, m, n, k, 1.5, a, 0, lda, b, 0, ldb, -0.75, c, 0, ldc);
        fixed (float* pa = a, pb = b, pc = c)
            Gemm.Sgemm(ta, tb, m, n, k, 1.5f, pa, lda, pb, ldb, -0.75f, pc, ldc);
        AssertClose(want, c, 0, m, n, ldc, 2e-5 * (k + 1), "Sgemm alpha=1.5 beta=-0.75");
        AssertPaddingUntouched(c, m, n, ldc, marker);
    }

    /// <summary>
    /// Both micro-kernel widths (256-bit, and 512-bit, emulated in software where the CPU lacks AVX-512), each with B packed and
    /// with a row-major B read in place (GemmCore.DirectBMaxRows), on shapes whose columns fill whole
    /// micro-tiles (the in-place path's condition) with and without padded leading dimensions.
    /// </summary>
    [Test]
    public void Sgemm_KernelWidthsAndUnpackedB_MatchReference()
    {
        bool savedWide = GemmCore<float>.UseVector512;
        int savedDirect = GemmCore<float>.DirectBMaxRows;
        try
        {
            // The 512-bit kernel runs on every machine: software-emulated where the CPU lacks AVX-512.
            foreach (bool use512 in new[] { false, true })
                foreach (int directRows in new[] { 0, 600 })
                {
                    GemmCore<float>.UseVector512 = use512;
                    GemmCore<float>.DirectBMaxRows = directRows;
                    foreach (var (m, n, k, pad) in new[] { (150, 64, 40, 0), (12, 32, 513, 5), (7, 96, 300, 3), (581, 32, 70, 0) })
                        foreach (bool ta in new[] { false, true })
                        {
                            var rng = new Random(m + n + k);
                            var (ar, ac) = Stored(ta, m, k);
                            int lda = ac + pad, ldb = n + pad, ldc = n + pad;
                            float[] a = RandomFloats(rng, (long)ar * lda), b = RandomFloats(rng, (long)k * ldb), c = RandomFloats(rng, (long)m * ldc);
                            double[] want = Reference(ta, false, m, n, k, 1.25, a, 0, lda, b, 0, ldb, 0.5, c, 0, ldc);
                            fixed (float* pa = a, pb = b, pc = c)
                                Gemm.Sgemm(ta, false, m, n, k, 1.25f, pa, lda, pb, ldb, 0.5f, pc, ldc);
                            AssertClose(want, c, 0, m, n, ldc, 2e-5 * (k + 1), $"{m}x{n}x{k} tA {ta} pad {pad}, 512-bit {use512}, direct B up to {directRows} rows");
                        }
                }
        }
        finally
        {
            GemmCore<float>.UseVector512 = savedWide;
            GemmCore<float>.DirectBMaxRows = savedDirect;
        }
    }

    [Test]
    public void Sgemm_BetaOne_Accumulates()
    {
        var rng = new Random(5);
        const int m = 37, n = 41, k = 300;
        float[] a = RandomFloats(rng, m * k), b = RandomFloats(rng, k * n), c = RandomFloats(rng, m * n);
        double[] want = Reference(false, false, m, n, k, 1.0, a, 0, k, b, 0, n, 1.0, c, 0, n);
        fixed (float* pa = a, pb = b, pc = c)
            Gemm.Sgemm(false, false, m, n, k, 1f, pa, k, pb, n, 1f, pc, n);
        AssertClose(want, c, 0, m, n, n, 1e-5 * (k + 1), "Sgemm beta=1");
    }

    [Test]
    public void Sgemm_AlphaZeroOrKZero_ScalesC()
    {
        float[] a = [1, 2, 3, 4], b = [5, 6, 7, 8], c = [1, 2, 3, 4];
        fixed (float* pa = a, pb = b, pc = c)
        {
            Gemm.Sgemm(false, false, 2, 2, 2, 0f, pa, 2, pb, 2, 2f, pc, 2);
            Assert.That(c, Is.EqualTo(new float[] { 2, 4, 6, 8 }));
            Gemm.Sgemm(false, false, 2, 2, 0, 1f, pa, 2, pb, 2, 0f, pc, 2);
            Assert.That(c, Is.EqualTo(new float[] { 0, 0, 0, 0 }));
        }
    }

    [Test]
    public void Sgemm_SingleThread_MatchesReference()
    {
        using var _ = CpuThreads.Use(1);
        Sgemm_BetaZero_IgnoresNaNInC(200, 190, 150, true, false);
        Sgemm_AlphaBeta_PaddedLeadingDimensions(143, 145, 255, false, true);
    }

    [Test]
    public void Sgemm_LargeSquare_MatchesReference()
    {
        // Big enough for several m blocks and k blocks on every thread.
        Sgemm_AlphaBeta_PaddedLeadingDimensions(300, 290, 600, false, false);
        Sgemm_AlphaBeta_PaddedLeadingDimensions(300, 290, 600, true, true);
    }

    [TestCase(false, false)]
    [TestCase(true, true)]
    public void Sgemm_Large_SampledRows(bool ta, bool tb)
    {
        // About 1 GFLOP: many m blocks and k blocks per thread and a thread split that does not
        // fall on a tile edge. A full reference would be slow, so compare every 11th row plus
        // the last rows (all columns: every column strip and the ragged right edge).
        const int m = 1030, n = 530, k = 1001;
        var rng = new Random(99);
        var (ar, ac) = Stored(ta, m, k);
        var (br, bc) = Stored(tb, k, n);
        int lda = ac + 1, ldb = bc + 3, ldc = n + 2;
        float[] a = RandomFloats(rng, (long)ar * lda), b = RandomFloats(rng, (long)br * ldb), c = RandomFloats(rng, (long)m * ldc);
        float[] before = (float[])c.Clone();
        fixed (float* pa = a, pb = b, pc = c)
            Gemm.Sgemm(ta, tb, m, n, k, 0.5f, pa, lda, pb, ldb, 2f, pc, ldc);
        for (int i = 0; i < m; i++)
        {
            if (i % 11 != 0 && i < m - 7) continue;
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                    sum += At(a, 0, ta, lda, i, p) * At(b, 0, tb, ldb, p, j);
                double want = 0.5 * sum + 2.0 * before[(long)i * ldc + j];
                Assert.That(c[(long)i * ldc + j], Is.EqualTo(want).Within(1e-5 * (k + 1)), $"C[{i},{j}]");
            }
        }
    }

    [TestCase(2)]
    [TestCase(4)]
    public void Sgemm_RowBlocksHandedOut_EveryPanelOnceInOrder(int threads)
    {
        // Tall enough that the threads split the rows and take blocks of A as they go (see
        // RunRowBlocksShared), with two column panels and three k panels, so a block of C is
        // handed out six times and each k panel must land once, after the one before. Four
        // threads on a small machine get preempted mid-block, which reorders the hand-outs.
        // Run on a task with a deadline: a lost hand-off would hang rather than fail. Every element
        // must equal the one-thread product bit for bit (the same k blocks added in the same order),
        // so a k panel added out of order shows even where the rounding stays within tolerance.
        const int m = 2400, n = 1100, k = 600;
        var rng = new Random(17);
        float[] a = RandomFloats(rng, (long)m * k), b = RandomFloats(rng, (long)k * n), c0 = RandomFloats(rng, (long)m * n);
        float[] serial = (float[])c0.Clone();
        using (CpuThreads.Use(1))
            fixed (float* pa = a, pb = b, pc = serial)
                Gemm.Sgemm(false, false, m, n, k, 1f, pa, k, pb, n, 0.5f, pc, n);
        int[] rows = [.. Enumerable.Range(0, m).Where(i => i % 37 == 0 || i >= m - 3)];
        var expected = rows.ToDictionary(i => i, i => Enumerable.Range(0, n).Select(j =>
        {
            double sum = 0;
            for (int p = 0; p < k; p++) sum += (double)a[(long)i * k + p] * b[(long)p * n + j];
            return sum + 0.5 * c0[(long)i * n + j];
        }).ToArray());
        using var _ = CpuThreads.Use(threads);
        for (int rep = 0; rep < 5; rep++)
        {
            float[] c = (float[])c0.Clone();
            var run = Task.Run(() =>
            {
                fixed (float* pa = a, pb = b, pc = c)
                    Gemm.Sgemm(false, false, m, n, k, 1f, pa, k, pb, n, 0.5f, pc, n);
            });
            Assert.That(run.Wait(TimeSpan.FromSeconds(60)), Is.True, $"the product finished (repeat {rep})");
            int firstDiff = Enumerable.Range(0, c.Length).FirstOrDefault(i => BitConverter.SingleToInt32Bits(c[i]) != BitConverter.SingleToInt32Bits(serial[i]), -1);
            Assert.That(firstDiff, Is.EqualTo(-1), $"C[{firstDiff / n},{firstDiff % n}] differs from the one-thread product, repeat {rep}");
            foreach (int i in rows)
                for (int j = 0; j < n; j++)
                    Assert.That(c[(long)i * n + j], Is.EqualTo(expected[i][j]).Within(1e-3), $"C[{i},{j}], repeat {rep}");
        }
    }

    [Test]
    public void Sgemm_InsideAParallelLoop_MatchesReference()
    {
        // Inside a loop body the worker pool is busy, so the GEMM's own split must fall back to
        // Parallel.For, with each body's result intact.
        const int m = 200, n = 190, k = 300;
        var rng = new Random(5);
        float[] a = RandomFloats(rng, m * k), b = RandomFloats(rng, k * n);
        var results = new float[2][];
        using (CpuThreads.Use(2))   // even on a 1-core machine, so the loop and the GEMM both split
            CpuParallel.For(2, i =>
            {
                var c = new float[m * n];
                fixed (float* pa = a, pb = b, pc = c)
                    Gemm.Sgemm(false, false, m, n, k, 1f, pa, k, pb, n, 0f, pc, n);
                results[i] = c;
            }, long.MaxValue / 4);
        var expected = Reference(false, false, m, n, k, 1, a, 0, k, b, 0, n, 0, new float[m * n], 0, n);
        foreach (var c in results) AssertClose(expected, c, 0, m, n, n, 1e-4, "Sgemm in a loop body");
    }

    // ------------------------------------------------------------------ SgemmBatched

    private static void CheckSgemmBatched(int batch, bool ta, bool tb, int m, int n, int k,
        bool shareA, bool shareB, int padA, int padB, int padC, float beta)
    {
        var rng = new Random(batch * 101 + m + n + k);
        var (ar, ac) = Stored(ta, m, k);
        var (br, bc) = Stored(tb, k, n);
        int lda = ac + padA, ldb = bc + padB, ldc = n + padC;
        long strideA = shareA ? 0 : (long)ar * lda + 2, strideB = shareB ? 0 : (long)br * ldb + 1;
        long strideC = (long)m * ldc + (padC > 0 ? 3 : 0);
        float[] a = RandomFloats(rng, strideA * (batch - 1) + (long)ar * lda);
        float[] b = RandomFloats(rng, strideB * (batch - 1) + (long)br * ldb);
        float[] c = beta == 0
            ? Enumerable.Repeat(float.NaN, (int)(strideC * batch)).ToArray()
            : RandomFloats(rng, strideC * batch);
        var want = new double[batch][];
        for (int i = 0; i < batch; i++)
            want[i] = Reference(ta, tb, m, n, k, 0.5, a, i * strideA, lda, b, i * strideB, ldb, beta, c, i * strideC, ldc);
        fixed (float* pa = a, pb = b, pc = c)
            Gemm.SgemmBatched(batch, ta, tb, m, n, k, 0.5f, pa, lda, strideA, pb, ldb, strideB, beta, pc, ldc, strideC);
        for (int i = 0; i < batch; i++)
            AssertClose(want[i], c, i * strideC, m, n, ldc, 1e-5 * (k + 1), $"SgemmBatched entry {i}");
    }

    [Test]
    public void SgemmBatched_ManySmall_AllTransposes()
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                CheckSgemmBatched(48, ta, tb, 13, 21, 9, false, false, 1, 2, 3, 0f);
    }

    [Test]
    public void SgemmBatched_AttentionLike() => CheckSgemmBatched(6, false, true, 40, 40, 16, false, false, 0, 0, 0, 0f);

    [Test]
    public void SgemmBatched_BroadcastB_StackedA() =>
        // Contiguous A and C with a shared B: the kernel may treat this as one tall GEMM.
        CheckSgemmBatched(5, false, false, 30, 20, 50, false, true, 0, 0, 0, 0f);

    [Test]
    public void SgemmBatched_BroadcastB_PaddedA() => CheckSgemmBatched(5, false, true, 30, 20, 50, false, true, 2, 1, 1, 0.25f);

    [Test]
    public void SgemmBatched_BroadcastA() => CheckSgemmBatched(3, true, false, 70, 90, 40, true, false, 0, 0, 0, 1f);

    [Test]
    public void SgemmBatched_FewLarge() => CheckSgemmBatched(3, false, false, 150, 100, 260, false, false, 0, 0, 0, 0f);

    [Test]
    public void SgemmBatched_EmptyBatch_DoesNothing()
    {
        float[] c = [1, 2];
        fixed (float* pc = c)
            Gemm.SgemmBatched(0, false, false, 1, 2, 1, 1f, null, 1, 1, null, 2, 2, 0f, pc, 2, 2);
        Assert.That(c, Is.EqualTo(new float[] { 1, 2 }));
    }

    // ------------------------------------------------------------------ Dgemm

    [TestCaseSource(nameof(Cases))]
    public void Dgemm_MatchesReference(int m, int n, int k, bool ta, bool tb)
    {
        var rng = new Random(m * 17 + n * 13 + k * 11);
        var (ar, ac) = Stored(ta, m, k);
        var (br, bc) = Stored(tb, k, n);
        int lda = ac + 1, ldb = bc + 2, ldc = n + 3;
        double[] a = RandomDoubles(rng, (long)ar * lda), b = RandomDoubles(rng, (long)br * ldb);
        double[] c = RandomDoubles(rng, (long)m * ldc);
        double[] nan = Enumerable.Repeat(double.NaN, c.Length).ToArray();
        double[] want = Reference(ta, tb, m, n, k, -1.25, a, 0, lda, b, 0, ldb, 0.5, c, 0, ldc);
        double[] wantZero = Reference(ta, tb, m, n, k, 1.0, a, 0, lda, b, 0, ldb, 0.0, c, 0, ldc);
        fixed (double* pa = a, pb = b, pc = c, pn = nan)
        {
            Gemm.Dgemm(ta, tb, m, n, k, -1.25, pa, lda, pb, ldb, 0.5, pc, ldc);
            Gemm.Dgemm(ta, tb, m, n, k, 1.0, pa, lda, pb, ldb, 0.0, pn, ldc);
        }
        AssertClose(want, c, 0, m, n, ldc, 1e-12 * (k + 1), "Dgemm alpha=-1.25 beta=0.5");
        AssertClose(wantZero, nan, 0, m, n, ldc, 1e-12 * (k + 1), "Dgemm beta=0 over NaN");
    }

    /// <summary>
    /// The double 512-bit micro-kernel (6 x 16 doubles), software-emulated where the CPU lacks
    /// AVX-512: edge tiles, transposes, and a row-major B read in place (whole 16-column strips).
    /// </summary>
    [Test]
    public void Dgemm_Vector512Kernel_MatchesReference()
    {
        bool saved = GemmCore<double>.UseVector512;
        try
        {
            GemmCore<double>.UseVector512 = true;
            foreach (var (m, n, k) in new[] { (13, 37, 29), (80, 48, 300), (7, 64, 130) })
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                    {
                        var rng = new Random(m + 3 * n + 7 * k);
                        var (ar, ac) = Stored(ta, m, k);
                        var (br, bc) = Stored(tb, k, n);
                        double[] a = RandomDoubles(rng, (long)ar * ac), b = RandomDoubles(rng, (long)br * bc), c = RandomDoubles(rng, (long)m * n);
                        double[] want = Reference(ta, tb, m, n, k, 0.75, a, 0, ac, b, 0, bc, -0.5, c, 0, n);
                        fixed (double* pa = a, pb = b, pc = c)
                            Gemm.Dgemm(ta, tb, m, n, k, 0.75, pa, ac, pb, bc, -0.5, pc, n);
                        AssertClose(want, c, 0, m, n, n, 1e-12 * (k + 1), $"Dgemm 512-bit {m}x{n}x{k} tA {ta} tB {tb}");
                    }
        }
        finally
        {
            GemmCore<double>.UseVector512 = saved;
        }
    }

    [Test]
    public void DgemmBatched_BroadcastA_And_B()
    {
        var rng = new Random(77);
        const int batch = 4, m = 19, n = 23, k = 29;
        double[] a = RandomDoubles(rng, m * k), b = RandomDoubles(rng, batch * k * n);
        double[] c = Enumerable.Repeat(double.NaN, batch * m * n).ToArray();
        fixed (double* pa = a, pb = b, pc = c)
            Gemm.DgemmBatched(batch, false, false, m, n, k, 1.0, pa, k, 0, pb, n, k * n, 0.0, pc, n, m * n);
        for (int i = 0; i < batch; i++)
        {
            double[] want = Reference(false, false, m, n, k, 1.0, a, 0, k, b, i * k * n, n, 0.0, c, i * m * n, n);
            AssertClose(want, c, i * m * n, m, n, n, 1e-12 * (k + 1), $"DgemmBatched entry {i}");
        }
        // B shared and A stacked: the one-tall-GEMM shortcut.
        double[] a2 = RandomDoubles(rng, batch * m * k), c2 = new double[batch * m * n];
        fixed (double* pa = a2, pb = b, pc = c2)
            Gemm.DgemmBatched(batch, false, true, m, n, k, 2.0, pa, k, m * k, pb, k, 0, 0.0, pc, n, m * n);
        for (int i = 0; i < batch; i++)
        {
            double[] want = Reference(false, true, m, n, k, 2.0, a2, i * m * k, k, b, 0, k, 0.0, c2, i * m * n, n);
            AssertClose(want, c2, i * m * n, m, n, n, 1e-12 * (k + 1), $"DgemmBatched shared-B entry {i}");
        }
    }

    [Test]
    public void ShortLeadingDimensionsAreRefusedNamingWhatWasExpected()
    {
        float[] buffer = new float[64];
        fixed (float* pinned = buffer)
        {
            float* p = pinned;
            // A of 3 x 4 stored with rows of 3: its rows would overlap, and the last one run past the buffer.
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Sgemm(false, false, 3, 2, 4, 1f, p, 3, p, 2, 0f, p, 2));
            Assert.That(e!.Message, Does.Contain("Gemm").And.Contain("lda=3").And.Contain("lda >= 4"));
            // Transposed, A is stored k x m: lda counts m. So 4 x 3 with lda 3 is fine, and ldc must cover n.
            Assert.That(() => Gemm.Sgemm(true, false, 3, 2, 4, 1f, p, 3, p, 2, 0f, p, 2), Throws.Nothing);
            Assert.That(() => Gemm.Sgemm(true, false, 3, 2, 4, 1f, p, 3, p, 2, 0f, p, 1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("ldc >= 2"));
            Assert.That(() => Gemm.SgemmBatched(2, false, true, 3, 2, 4, 1f, p, 4, 12, p, 3, 8, 0f, p, 2, 6),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("ldb >= 4"));
        }
    }
}
