using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using static Tensorium.Kernels.Cpu.Fused;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// General matrix multiply on row-major matrices:
/// C = alpha * op(A) * op(B) + beta * C, where op(X) is X or its transpose.
/// A is m x k after op, B is k x n after op, C is m x n. When beta is 0, C is only written
/// (whatever it held before, NaN included, is ignored). Leading dimensions are in elements.
/// </summary>
/// <remarks>
/// The implementation (in <c>GemmCore&lt;T&gt;</c>) follows the GotoBLAS/BLIS recipe:
/// copy ("pack") blocks of A and B into contiguous scratch laid out in exactly the order a small
/// register-blocked micro-kernel reads them, size the blocks so each stays in one cache level,
/// and split C between threads. See the comments in GemmCore for the why of each step.
/// </remarks>
public static unsafe class Gemm
{
    /// <summary>
    /// GEMM for float or double, the entry every CPU caller (the backend's matmul, conv, the
    /// recurrent layers) goes through. T is resolved when the JIT compiles the caller, so this
    /// costs nothing over calling the typed entries below.
    /// </summary>
    public static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, int lda, T* b, int ldb, T beta, T* c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
        => GemmCore<T>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>
    /// Batched GEMM for float or double: entry i uses A + i*strideA, B + i*strideB, C + i*strideC.
    /// A stride of 0 reuses one matrix for every batch entry (strideC must not be 0 when batch &gt; 1).
    /// </summary>
    public static void RunBatched<T>(int batch, bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, int lda, long strideA, T* b, int ldb, long strideB, T beta, T* c, int ldc, long strideC)
        where T : unmanaged, IFloatingPointIeee754<T>
        => GemmCore<T>.RunBatched(batch, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC);

    /// <summary>
    /// <see cref="Run{T}"/> on the calling thread only: for a caller that already spreads its work
    /// over the threads, one product per task (a nested parallel loop would fight it for the cores).
    /// </summary>
    internal static void RunOnThisThread<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, int lda, T* b, int ldb, T beta, T* c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
        => GemmCore<T>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads: 1);

    /// <summary>Single-precision GEMM (row-major, leading dimensions in elements).</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
        => GemmCore<float>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>
    /// Batched single-precision GEMM: entry i uses A + i*strideA, B + i*strideB, C + i*strideC.
    /// A stride of 0 reuses one matrix for every batch entry (strideC must not be 0 when batch &gt; 1).
    /// </summary>
    public static void SgemmBatched(int batch, bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, long strideA, float* b, int ldb, long strideB, float beta, float* c, int ldc, long strideC)
        => GemmCore<float>.RunBatched(batch, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC);

    /// <summary>Double-precision GEMM (row-major, leading dimensions in elements).</summary>
    public static void Dgemm(bool transA, bool transB, int m, int n, int k, double alpha,
        double* a, int lda, double* b, int ldb, double beta, double* c, int ldc)
        => GemmCore<double>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>
    /// Batched double-precision GEMM: entry i uses A + i*strideA, B + i*strideB, C + i*strideC.
    /// A stride of 0 reuses one matrix for every batch entry (strideC must not be 0 when batch &gt; 1).
    /// </summary>
    public static void DgemmBatched(int batch, bool transA, bool transB, int m, int n, int k, double alpha,
        double* a, int lda, long strideA, double* b, int ldb, long strideB, double beta, double* c, int ldc, long strideC)
        => GemmCore<double>.RunBatched(batch, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC);
}

/// <summary>
/// The blocked, packed GEMM shared by float and double. T is a value type, so the JIT compiles a
/// separate, fully specialised copy for each; every <c>typeof(T) == typeof(float)</c> test below is
/// resolved at compile time and costs nothing.
/// </summary>
/// <remarks>
/// Loop structure for one thread's block of C (Goto's algorithm, as in BLIS):
/// <code>
/// for jc in n step NC                 // B panel: KC x NC (1 MiB for float), in L2 or L3
///   for pc in k step KC
///     pack B[pc.., jc..] -> Bp        // NR-wide column strips, row after row
///     for ic in m step MC             // A block: MC x KC, lives in L2
///       pack A[ic.., pc..] -> Ap      // MR-tall row strips, column after column
///       for jr in nc step NR          // one KC x NR strip of Bp, lives in L1
///         for ir in mc step MR
///           micro-kernel: C[ir..+MR, jr..+NR] += Ap strip * Bp strip   (registers)
/// </code>
/// The micro-kernel keeps an MR x NR tile of C in vector registers (6 x 16 floats = 12 AVX
/// registers) and, per step of k, does 2 vector loads of B, 6 broadcasts of A and 12 FMAs:
/// enough independent FMAs to cover their 4-cycle latency on two FMA pipes, and few enough
/// registers (12 + 2 + 1 = 15 of 16) that nothing spills. The k loop is unrolled 4 times and
/// prefetches A a few steps ahead; the C tile is prefetched before the loop starts.
/// Threads: <c>Run</c> hands the blocks of A of a product with many rows out to the threads as they go
/// (each packs every B panel), else gives each thread its own block of C and runs this loop nest
/// on it; batches of small matrices give each thread whole matrices instead.
/// On Zen 3 (2 cores) this reaches about 85-90% of FMA peak, on par with OpenBLAS.
/// </remarks>
internal static unsafe partial class GemmCore<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Rows of C per micro-tile, and of A per packed strip.</summary>
    internal const int MR = 6;

    /// <summary>
    /// Depth of a packed panel. A KC x NR strip of B (16 KiB) stays in the 32 KiB L1 while the
    /// kernel sweeps down a block of A; larger KC also means C is loaded and stored less often.
    /// 256 measured best on Zen 3 (320 and 384 were no faster).
    /// </summary>
    private const int KC = 256;

    /// <summary>Rows of A per packed block: MC x KC x sizeof(T) = 144 KiB, well inside the 512 KiB L2 (216 and 288 measured no faster on Zen 3).</summary>
    private static int MC => typeof(T) == typeof(float) ? 144 : 72;

    /// <summary>
    /// Columns of B per packed panel. For float, KC x NC x 4 = 1 MiB: the kernel sweeps the whole
    /// panel once per A block, and a 4 MiB panel (NC 4032, BLIS's choice, sized for L3) came back
    /// from a shared L3 more slowly. On the 2-core Zen 3 VM, 15 alternating rounds per shape, four
    /// runs: 1024 was 0-6% faster than 4032 in 11 of 12 comparisons (512x3072x768, 768x3072x512,
    /// 256x4096x1024 on 1 and 2 threads) and level where a thread's n is 1024 or less (which
    /// both sizes cover in one panel). The double size (4 MiB) was not remeasured.
    /// </summary>
    private static int NC => typeof(T) == typeof(float) ? 1024 : 2016;

    /// <summary>
    /// How far ahead (in bytes) the kernel prefetches the packed A strip it streams from L2:
    /// about ten k-steps, enough to hide L2 latency (256 measured best of 128, 256, 384 and 768).
    /// </summary>
    private const int PrefetchBytes = 256;

    /// <summary>Columns per micro-tile with Vector256: two vectors (16 floats or 8 doubles).</summary>
    private static int NR256 => 2 * Vector256<T>.Count;

    /// <summary>Columns per micro-tile with Vector512: two vectors (32 floats or 16 doubles).</summary>
    private static int NR512 => 2 * Vector512<T>.Count;

    /// <summary>
    /// Columns per micro-tile of the kernel this machine runs: a caller that lays out B with rows
    /// of whole tiles (and few rows of A) has B read in place rather than packed.
    /// </summary>
    internal static int TileColumns => UseVector512 ? NR512 : NR256;

    /// <summary>
    /// Use the 512-bit micro-kernel. Only worth it where the hardware runs 512-bit vectors natively;
    /// a field rather than a constant so tests can force the (software-emulated) path for correctness.
    /// </summary>
    internal static bool UseVector512 = Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    /// <summary>
    /// Rows of A (per thread) up to which a row-major B is read in place rather than packed: one
    /// A block (<see cref="MC"/> rows for float) uses a packed B panel only once, too little to pay
    /// for the copy (packing was a third of the time of a [128 x 2048] x [2048 x 128] product; in
    /// place, that product ran 1.45x faster, a 512-row one about 10% slower). A field so tests
    /// can force either path (0 always packs).
    /// </summary>
    internal static int DirectBMaxRows = 144;

    /// <summary>Below this many flops a call runs on one thread: a thread hand-off costs several microseconds.</summary>
    private const long ParallelMinFlops = 3_000_000;

    /// <summary>Below this m*n*k a plain loop beats packing (the packing and edge-tile overheads dominate).</summary>
    private const long TinyMnk = 4096;

    // ------------------------------------------------------------------------------------------
    // Entry points
    // ------------------------------------------------------------------------------------------

    public static void Run(bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
        => Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, CpuParallel.Threads);

    /// <summary>The product on at most <paramref name="threads"/> threads (1: the calling thread only).</summary>
    public static void Run(bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, int lda, T* b, int ldb, T beta, T* c, int ldc, int threads)
    {
        CheckArguments(transA, transB, m, n, k, lda, ldb, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || T.IsZero(alpha)) { ScaleC(m, n, beta, c, ldc); return; }

        long flops = 2L * m * n * k;
        if (threads == 1 || flops < ParallelMinFlops)
        {
            RunSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        Run(new MatrixA<T>(transA, a, lda), transB, m, n, k, alpha, b, ldb, beta, c, ldc, threads);
    }

    /// <summary>
    /// The product with op(A) given as a source of packed blocks rather than a matrix (see
    /// <see cref="IPackedA{T}"/>), on at most <paramref name="threads"/> threads. The sizes must be positive.
    /// </summary>
    public static void Run<TA>(TA a, bool transB, int m, int n, int k, T alpha,
        T* b, int ldb, T beta, T* c, int ldc, int threads) where TA : struct, IPackedA<T>
    {
        long flops = 2L * m * n * k;
        if (threads == 1 || flops < ParallelMinFlops)
        {
            RunPacked(a, 0, transB, m, n, k, alpha, b, ldb, beta, c, ldc);
            return;
        }

        // Products with many rows per thread: the threads split C by rows and take blocks of rows
        // as they go, so a thread slowed down by another process on its core does less of the
        // work (see RunRowBlocksShared and HandOutRows). Each packs every panel of B, as with a
        // fixed split by rows.
        int nr = UseVector512 ? NR512 : NR256;
        ChooseGrid(threads, m, n, nr, out int tm, out int tn);
        if (HandOutRows(threads, m, n, nr, tm, tn))
        {
            RunRowBlocksShared(a, transB, m, n, k, alpha, b, ldb, beta, c, ldc, threads);
            return;
        }

        // Otherwise split C into a tm x tn grid of independent blocks, one per thread. Each thread
        // packs its own copies of the A rows and B columns it needs, so threads never wait on each
        // other (one fork/join per call). The price is that the operand not split is packed by
        // every thread; pick the grid that packs the least (with 2 threads: split m when n is
        // smaller, else split n). Packing is O(k(m + n)) against O(mnk) arithmetic, so this stays cheap.
        // (Sharing one packed B between the threads instead measured slower on the 2-vCPU Zen 3
        // VM, packed up front or lazily strip by strip: 3-27% at the benchmark shapes, slowest
        // where each thread reads most of the strips the other packed.)
        int mUnits = (m + MR - 1) / MR, nUnits = (n + nr - 1) / nr;
        CpuParallel.For(tm * tn, t =>
        {
            int ti = t / tn, tj = t % tn;
            int i0 = Math.Min(m, (int)((long)mUnits * ti / tm) * MR), i1 = Math.Min(m, (int)((long)mUnits * (ti + 1) / tm) * MR);
            int j0 = Math.Min(n, (int)((long)nUnits * tj / tn) * nr), j1 = Math.Min(n, (int)((long)nUnits * (tj + 1) / tn) * nr);
            if (i1 <= i0 || j1 <= j0) return;
            T* bSub = transB ? b + (long)j0 * ldb : b + j0;
            RunPacked(a, i0, transB, i1 - i0, j1 - j0, k, alpha, bSub, ldb, beta, c + (long)i0 * ldc + j0, ldc);
        }, flops / (tm * tn));
    }

    /// <summary>
    /// The product split between threads by rows of C, the rows handed out while it runs: every
    /// thread packs each B panel itself (as with a fixed split by rows), then takes blocks of A
    /// from the panel's counter until none is left. A thread slowed down by another process on its
    /// core then takes fewer blocks instead of holding up the call: with a fixed half each, the two
    /// threads of a 2048^3 product finished 11% apart on average on the 2-core VM.
    /// </summary>
    private static void RunRowBlocksShared<TA>(TA a, bool transB, int m, int n, int k, T alpha,
        T* b, int ldb, T beta, T* c, int ldc, int threads) where TA : struct, IPackedA<T>
    {
        bool wide = UseVector512;
        int nr = wide ? NR512 : NR256;
        int kc = BalancedBlock(k, KC, 1), mc = BalancedBlock(m, MC, MR), nc = BalancedBlock(n, NC, nr);
        int kBlocks = (k + kc - 1) / kc, mBlocks = (m + mc - 1) / mc, panels = (n + nc - 1) / nc * kBlocks;
        var next = new int[panels];   // per B panel (jc, pc): the next block of A to hand out
        // Per block of C (a block of A's rows times a panel's columns jc): how many k panels it has
        // taken in. Indexed by jc too: a thread may start a block's next columns while another
        // still adds the last k panel to its current ones.
        var kPanelsDone = new int[panels / kBlocks * mBlocks];
        int failed = 0; // set by a thread that throws, so the others stop rather than wait for its block forever
        CpuParallel.For(threads, _ =>
        {
            T* packA = PackingBuffers(mc, kc, nc, nr, out T* packB);
            for (int q = 0; q < panels && Volatile.Read(ref failed) == 0; q++)
            {
                if (Volatile.Read(ref next[q]) >= mBlocks) continue; // all taken: do not pack for nothing
                int jBlock = q / kBlocks, kBlock = q % kBlocks, jc = jBlock * nc, pc = kBlock * kc;
                int ncCur = Math.Min(nc, n - jc), kcCur = Math.Min(kc, k - pc);
                PackB(transB, b, ldb, pc, kcCur, jc, ncCur, nr, packB);
                T betaCur = pc == 0 ? beta : T.One;
                for (int block; (block = Interlocked.Increment(ref next[q]) - 1) < mBlocks;)
                {
                    // This block of C adds k panel kBlock on top of the ones before: wait until
                    // whichever thread took the previous one is done with it. Rarely a wait at
                    // all: that one was handed out a whole panel earlier.
                    ref int done = ref kPanelsDone[jBlock * mBlocks + block];
                    var spin = new SpinWait();
                    while (Volatile.Read(ref done) < kBlock)
                    {
                        if (Volatile.Read(ref failed) != 0) return;
                        spin.SpinOnce(sleep1Threshold: -1);
                    }
                    int ic = block * mc, mcCur = Math.Min(mc, m - ic);
                    try
                    {
                        a.Pack(ic, mcCur, pc, kcCur, packA);
                        MacroKernel(mcCur, ncCur, kcCur, alpha, packA, packB, nr, betaCur, c + (long)ic * ldc + jc, ldc, wide);
                    }
                    catch
                    {
                        Volatile.Write(ref failed, 1);
                        throw;
                    }
                    Volatile.Write(ref done, kBlock + 1);
                }
            }
        }, 2L * m * n * k / threads);
    }

    public static void RunBatched(int batch, bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, int lda, long strideA, T* b, int ldb, long strideB, T beta, T* c, int ldc, long strideC)
    {
        if (batch < 0)
            throw new ArgumentOutOfRangeException(nameof(batch), $"GemmBatched: batch must be non-negative, got {batch}.");
        if (batch == 0 || m == 0 || n == 0) return;
        if (batch > 1 && strideC == 0)
            throw new ArgumentException("GemmBatched: strideC is 0, so every batch entry would write the same C.", nameof(strideC));
        CheckArguments(transA, transB, m, n, k, lda, ldb, ldc);

        // Same B for every entry and A, C stacked back to back: the batch is one tall GEMM.
        if (batch > 1 && strideB == 0 && !transA && strideA == (long)m * lda && strideC == (long)m * ldc
            && (long)batch * m <= int.MaxValue)
        {
            Run(false, transB, batch * m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }

        long flopsEach = 2L * m * n * k;
        if (!SplitOverBatch(batch, flopsEach, CpuParallel.Threads))
        {
            for (int i = 0; i < batch; i++)
                Run(transA, transB, m, n, k, alpha, a + i * strideA, lda, b + i * strideB, ldb, beta, c + i * strideC, ldc);
            return;
        }
        // One task per matrix; the parallel loop hands them out dynamically, so a thread that
        // gets slowed down simply ends up doing fewer of them.
        CpuParallel.For(batch, i =>
            RunSerialChecked(transA, transB, m, n, k, alpha, a + i * strideA, lda, b + i * strideB, ldb, beta, c + i * strideC, ldc),
            flopsEach);
    }

    /// <summary>
    /// Whether a batch is shared out a whole matrix per task rather than each product in turn on
    /// all threads: many small matrices (no sync, each packs its own), or a batch that keeps every
    /// thread busy to the end (a multiple of the threads, or many matrices each). Few big ones,
    /// fewer than the threads or not dividing among them, are each parallelised inside instead:
    /// 3 matrices of 512^3 on 8 threads one each would leave 5 threads idle.
    /// </summary>
    internal static bool SplitOverBatch(int batch, long flopsEach, int threads) =>
        threads > 1 && batch > 1 && flopsEach * batch >= ParallelMinFlops
        && (batch % threads == 0 || batch >= 4 * threads || flopsEach < 50_000_000);

    /// <summary>One thread's work, with the degenerate cases handled.</summary>
    private static void RunSerialChecked(bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
    {
        if (k == 0 || T.IsZero(alpha)) { ScaleC(m, n, beta, c, ldc); return; }
        RunSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>
    /// Sizes must be non-negative and each leading dimension at least its stored row's length (as
    /// BLAS requires): a short one would read or write past the matrix without any error.
    /// </summary>
    private static void CheckArguments(bool transA, bool transB, int m, int n, int k, int lda, int ldb, int ldc)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentOutOfRangeException(nameof(m), $"Gemm: sizes must be non-negative, got m={m}, n={n}, k={k}.");
        // Row-major: A is stored m x k (k x m transposed), B k x n (n x k), C m x n. (An empty
        // row may have a leading dimension of 0, as numpy's strides give it: nothing is read.)
        int aRow = transA ? m : k, bRow = transB ? k : n;
        if (lda < aRow || ldb < bRow || ldc < n)
            throw new ArgumentOutOfRangeException(nameof(lda),
                $"Gemm: leading dimensions must be at least the stored rows' lengths, got lda={lda}, ldb={ldb}, ldc={ldc}; " +
                $"expected lda >= {aRow}, ldb >= {bRow}, ldc >= {n} (m={m}, n={n}, k={k}, transA={transA}, transB={transB}).");
    }

    /// <summary>
    /// Chooses a tm x tn grid of blocks of C, one per thread: as many threads as the tiles allow
    /// (at most <paramref name="threads"/>), and of those grids the one whose threads pack the least.
    /// Grids of fewer blocks than threads count too: with 3 threads, a C of 2 tile rows and 1 tile
    /// column still splits in two (only exact factorings were once tried, and such a C ran on one thread).
    /// </summary>
    internal static void ChooseGrid(int threads, int m, int n, int nr, out int tm, out int tn)
    {
        int mUnits = (m + MR - 1) / MR, nUnits = (n + nr - 1) / nr;
        tm = 1; tn = 1;
        int bestBlocks = 1;
        long best = PackedPerThread(1, 1, m, n, nr);
        for (int x = 1; x <= Math.Min(threads, mUnits); x++)
        {
            int y = Math.Min(threads / x, nUnits);
            long cost = PackedPerThread(x, y, m, n, nr);
            if (x * y > bestBlocks || (x * y == bestBlocks && cost < best)) { bestBlocks = x * y; best = cost; tm = x; tn = y; }
        }
    }

    /// <summary>Rows of A plus columns of B one thread packs in a tm x tn grid (both scale with k, so k is left out).</summary>
    private static long PackedPerThread(int tm, int tn, int m, int n, int nr)
    {
        int mUnits = (m + MR - 1) / MR, nUnits = (n + nr - 1) / nr;
        return (long)(mUnits + tm - 1) / tm * MR + (long)(nUnits + tn - 1) / tn * nr;
    }

    /// <summary>
    /// Whether <see cref="RunRowBlocksShared{TA}"/> takes the product rather than the fixed grid:
    /// where each thread gets more rows than <see cref="DirectBMaxRows"/> (fewer read B in place,
    /// which needs a fixed split), and splitting by rows packs at most one more element per 1000
    /// multiply-adds than the grid would. 1024^3 ties (the grid splits the columns) and goes by
    /// rows; 512 x 3072 x 768 would pack 1 more per 600 and keeps its split by columns (by rows it
    /// measured level: the balance won back about what the extra packing cost).
    /// </summary>
    private static bool HandOutRows(int threads, int m, int n, int nr, int tm, int tn)
    {
        if (tm * tn < 2 || m / threads <= DirectBMaxRows) return false;
        long extra = PackedPerThread(threads, 1, m, n, nr) - PackedPerThread(tm, tn, m, n, nr);
        return extra * threads * 1000 <= (long)m * n;
    }

    /// <summary>C = beta * C (beta 0 writes zeros without reading C).</summary>
    private static void ScaleC(int m, int n, T beta, T* c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            Span<T> row = new(c + (long)i * ldc, n);
            if (T.IsZero(beta)) row.Clear();
            else if (beta != T.One)
                for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }

    // ------------------------------------------------------------------------------------------
    // One thread: blocking loops around the packed micro-kernel
    // ------------------------------------------------------------------------------------------

    private static void RunSerial(bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
    {
        if ((long)m * n * k <= TinyMnk)
        {
            SmallGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        RunPacked(new MatrixA<T>(transA, a, lda), 0, transB, m, n, k, alpha, b, ldb, beta, c, ldc);
    }

    /// <summary>
    /// One thread's block of C: rows [<paramref name="aRow0"/>, + m) of op(A) times op(B), through
    /// the packed micro-kernel.
    /// </summary>
    private static void RunPacked<TA>(TA a, int aRow0, bool transB, int m, int n, int k, T alpha,
        T* b, int ldb, T beta, T* c, int ldc) where TA : struct, IPackedA<T>
    {
        bool wide = UseVector512;
        int nr = wide ? NR512 : NR256;
        // Round block sizes so the last block is not a sliver: e.g. k = 300 becomes two blocks of
        // 150 rather than 256 + 44 (each block pays a fixed cost to load and store C).
        int kc = BalancedBlock(k, KC, 1);
        int mc = BalancedBlock(m, MC, MR);
        int nc = BalancedBlock(n, NC, nr);

        T* packA = PackingBuffers(mc, kc, nc, nr, out T* packB);

        // B as it lies, without packing, where the packed copy would be reused too little to pay
        // for itself: a B of whole micro-tile columns (no edge strip) multiplied by few rows of A
        // (the weight gradient of a layer, [in, tokens] x [tokens, out]). The kernel then reads
        // each k row of a strip ldb apart (from L2 rather than L1: it still runs near full speed).
        // ldb == nr would read as "packed" below, so that case packs. So does a row length of a
        // multiple of 4 KiB (1024 floats, 512 doubles): the strip's k rows would all fall in the same L1 cache
        // set, 8 ways for a strip of 256 rows, and the in-place reads ran 1.5-1.7x slower than
        // with a row length 16 floats longer ([64 x 576] x [576 x 1024]: a conv layer's 4x4
        // outputs for 64 images side by side).
        bool direct = !transB && n % nr == 0 && m <= DirectBMaxRows && ldb != nr && (long)ldb * sizeof(T) % 4096 != 0;
        for (int jc = 0; jc < n; jc += nc)
        {
            int ncCur = Math.Min(nc, n - jc);
            for (int pc = 0; pc < k; pc += kc)
            {
                int kcCur = Math.Min(kc, k - pc);
                // The whole panel at once: packing each strip just before the first A block uses
                // it (as OpenBLAS's driver does) measured 1.5-2.5% slower on Zen 3, and
                // prefetching the next strip while the kernel works on one was no faster.
                if (direct) packB = b + (long)pc * ldb + jc;
                else PackB(transB, b, ldb, pc, kcCur, jc, ncCur, nr, packB);
                // Only the first k-block applies the caller's beta; later ones add on top.
                T betaCur = pc == 0 ? beta : T.One;
                for (int ic = 0; ic < m; ic += mc)
                {
                    int mcCur = Math.Min(mc, m - ic);
                    a.Pack(aRow0 + ic, mcCur, pc, kcCur, packA);
                    MacroKernel(mcCur, ncCur, kcCur, alpha, packA, packB, direct ? ldb : nr, betaCur, c + (long)ic * ldc + jc, ldc, wide);
                }
            }
        }
    }

    /// <summary>
    /// This thread's scratch for one packed block of A (mc x kc, returned) and one packed panel of
    /// B (kc x nc rounded up to whole strips, in <paramref name="packB"/>): one thread-local buffer
    /// holds both, B starting on a 64-byte boundary.
    /// </summary>
    private static T* PackingBuffers(int mc, int kc, int nc, int nr, out T* packB)
    {
        int packASize = RoundUp(mc * kc, 64 / sizeof(T));
        T* packA = ThreadScratch.Packing<T>((long)packASize + (long)RoundUp(nc, nr) * kc);
        packB = packA + packASize;
        return packA;
    }

    /// <summary>Splits <paramref name="total"/> into equal blocks of at most <paramref name="max"/>, rounded up to <paramref name="unit"/>.</summary>
    private static int BalancedBlock(int total, int max, int unit)
    {
        int blocks = (total + max - 1) / max;
        int size = (total + blocks - 1) / blocks;
        return Math.Min(RoundUp(size, unit), max);
    }

    private static int RoundUp(int x, int unit) => (x + unit - 1) / unit * unit;

    /// <summary>Runs the micro-kernel over every MR x NR tile of one packed A block times one packed B panel.</summary>
    private static void MacroKernel(int mc, int nc, int kc, T alpha, T* packA, T* packB, int ldb, T beta, T* c, int ldc, bool wide)
    {
        int nr = wide ? NR512 : NR256;
        // Partial tiles at the right and bottom edges are computed into this buffer (with beta = 0)
        // and then merged, so the micro-kernel itself only ever handles full tiles.
        T* edge = stackalloc T[MR * 32];
        for (int jr = 0; jr < nc; jr += nr)
        {
            int ncTile = Math.Min(nr, nc - jr);
            // Packed strips lie kc x nr apart; unpacked B (ldb is its row length) is read in place.
            T* bStrip = ldb == nr ? packB + (long)jr * kc : packB + jr;
            for (int ir = 0; ir < mc; ir += MR)
            {
                int mrTile = Math.Min(MR, mc - ir);
                T* aStrip = packA + (long)ir * kc;
                T* cTile = c + (long)ir * ldc + jr;
                if (mrTile == MR && ncTile == nr)
                {
                    if (wide) MicroKernel512(kc, aStrip, bStrip, ldb, cTile, ldc, alpha, beta);
                    else MicroKernel256(kc, aStrip, bStrip, ldb, cTile, ldc, alpha, beta);
                }
                else
                {
                    if (wide) MicroKernel512(kc, aStrip, bStrip, ldb, edge, nr, alpha, T.Zero);
                    else MicroKernel256(kc, aStrip, bStrip, ldb, edge, nr, alpha, T.Zero);
                    for (int i = 0; i < mrTile; i++)
                    {
                        T* cRow = cTile + (long)i * ldc;
                        T* eRow = edge + i * nr;
                        if (T.IsZero(beta))
                            for (int j = 0; j < ncTile; j++) cRow[j] = eRow[j];
                        else
                            for (int j = 0; j < ncTile; j++) cRow[j] = beta * cRow[j] + eRow[j];
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Tiny problems: no packing, just loops (a 4x4x4 product should not pay for two copies).
    // ------------------------------------------------------------------------------------------

    private static void SmallGemm(bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            T* cRow = c + (long)i * ldc;
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    T av = transA ? a[(long)p * lda + i] : a[(long)i * lda + p];
                    T bv = transB ? b[(long)j * ldb + p] : b[(long)p * ldb + j];
                    sum += av * bv;
                }
                cRow[j] = T.IsZero(beta) ? alpha * sum : alpha * sum + beta * cRow[j];
            }
        }
    }
}
