using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using static Tensorium.Kernels.Cpu.Fused;

namespace Tensorium.Kernels.Cpu;

// GemmCore's register-blocked micro-kernels, one per vector width (256 and 512 bits), and the
// row stores they end with. Kept apart from the blocking and packing in Gemm.cs: these are the
// innermost loops, unrolled by hand because the JIT does not unroll them.
internal static unsafe partial class GemmCore<T> where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    // ------------------------------------------------------------------------------------------
    // Micro-kernels: C[MR x NR] = alpha * (packed A strip) * (packed B strip) + beta * C
    // ------------------------------------------------------------------------------------------

    /// <summary>Stores one row of the tile: alpha * acc (+ beta * C when beta is not 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow256(T* c, Vector256<T> acc0, Vector256<T> acc1, Vector256<T> alpha, Vector256<T> beta, bool betaZero)
    {
        T* c1 = c + Vector256<T>.Count;
        if (betaZero)
        {
            Vector256.Store(acc0 * alpha, c);
            Vector256.Store(acc1 * alpha, c1);
        }
        else
        {
            Vector256.Store(MulAdd(Vector256.Load(c), beta, acc0 * alpha), c);
            Vector256.Store(MulAdd(Vector256.Load(c1), beta, acc1 * alpha), c1);
        }
    }

    /// <summary>
    /// The 6 x (2 * Vector256 width) micro-kernel: 12 accumulators live in registers for the whole
    /// k loop; each step loads one packed row of B (2 vectors), broadcasts 6 packed values of A and
    /// does 12 FMAs. Loads are unaligned-tolerant; the packed buffers are 64-byte aligned anyway.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroKernel256(int kc, T* a, T* b, long ldb, T* c, int ldc, T alpha, T beta)
    {
        int w = Vector256<T>.Count;
        if (Sse.IsSupported)
        {
            // Ask for the C tile now; it is needed only after the k loop, so by then the lines
            // (often in L3 or memory: C rows are ldc apart) have arrived.
            T* cp = c;
            for (int i = 0; i < MR; i++, cp += ldc) { Sse.Prefetch0(cp); Sse.Prefetch0(cp + 2 * w - 1); }
        }
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        int p = 0;
        // Main loop unrolled 4 times (fewer loop-counter and pointer updates per FMA), with one
        // software prefetch of A per 4 steps (4 x 24 bytes: about one cache line).
        for (; p + 4 <= kc; p += 4)
        {
            if (Sse.IsSupported) Sse.Prefetch0((byte*)a + PrefetchBytes);
            Vector256<T> b0, b1, x;
            b0 = Vector256.Load(b + 0 * ldb); b1 = Vector256.Load(b + 0 * ldb + w);   // step p + 0
            x = Vector256.Create(a[0]); c00 = MulAdd(x, b0, c00); c01 = MulAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = MulAdd(x, b0, c10); c11 = MulAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = MulAdd(x, b0, c20); c21 = MulAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = MulAdd(x, b0, c30); c31 = MulAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = MulAdd(x, b0, c40); c41 = MulAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = MulAdd(x, b0, c50); c51 = MulAdd(x, b1, c51);
            b0 = Vector256.Load(b + 1 * ldb); b1 = Vector256.Load(b + 1 * ldb + w);   // step p + 1
            x = Vector256.Create(a[6]); c00 = MulAdd(x, b0, c00); c01 = MulAdd(x, b1, c01);
            x = Vector256.Create(a[7]); c10 = MulAdd(x, b0, c10); c11 = MulAdd(x, b1, c11);
            x = Vector256.Create(a[8]); c20 = MulAdd(x, b0, c20); c21 = MulAdd(x, b1, c21);
            x = Vector256.Create(a[9]); c30 = MulAdd(x, b0, c30); c31 = MulAdd(x, b1, c31);
            x = Vector256.Create(a[10]); c40 = MulAdd(x, b0, c40); c41 = MulAdd(x, b1, c41);
            x = Vector256.Create(a[11]); c50 = MulAdd(x, b0, c50); c51 = MulAdd(x, b1, c51);
            b0 = Vector256.Load(b + 2 * ldb); b1 = Vector256.Load(b + 2 * ldb + w);   // step p + 2
            x = Vector256.Create(a[12]); c00 = MulAdd(x, b0, c00); c01 = MulAdd(x, b1, c01);
            x = Vector256.Create(a[13]); c10 = MulAdd(x, b0, c10); c11 = MulAdd(x, b1, c11);
            x = Vector256.Create(a[14]); c20 = MulAdd(x, b0, c20); c21 = MulAdd(x, b1, c21);
            x = Vector256.Create(a[15]); c30 = MulAdd(x, b0, c30); c31 = MulAdd(x, b1, c31);
            x = Vector256.Create(a[16]); c40 = MulAdd(x, b0, c40); c41 = MulAdd(x, b1, c41);
            x = Vector256.Create(a[17]); c50 = MulAdd(x, b0, c50); c51 = MulAdd(x, b1, c51);
            b0 = Vector256.Load(b + 3 * ldb); b1 = Vector256.Load(b + 3 * ldb + w);   // step p + 3
            x = Vector256.Create(a[18]); c00 = MulAdd(x, b0, c00); c01 = MulAdd(x, b1, c01);
            x = Vector256.Create(a[19]); c10 = MulAdd(x, b0, c10); c11 = MulAdd(x, b1, c11);
            x = Vector256.Create(a[20]); c20 = MulAdd(x, b0, c20); c21 = MulAdd(x, b1, c21);
            x = Vector256.Create(a[21]); c30 = MulAdd(x, b0, c30); c31 = MulAdd(x, b1, c31);
            x = Vector256.Create(a[22]); c40 = MulAdd(x, b0, c40); c41 = MulAdd(x, b1, c41);
            x = Vector256.Create(a[23]); c50 = MulAdd(x, b0, c50); c51 = MulAdd(x, b1, c51);
            a += 4 * MR;
            b += 4 * ldb;
        }
        for (; p < kc; p++) // the last kc % 4 steps
        {
            Vector256<T> b0 = Vector256.Load(b), b1 = Vector256.Load(b + w), x;
            x = Vector256.Create(a[0]); c00 = MulAdd(x, b0, c00); c01 = MulAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = MulAdd(x, b0, c10); c11 = MulAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = MulAdd(x, b0, c20); c21 = MulAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = MulAdd(x, b0, c30); c31 = MulAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = MulAdd(x, b0, c40); c41 = MulAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = MulAdd(x, b0, c50); c51 = MulAdd(x, b1, c51);
            a += MR;
            b += ldb;
        }

        Vector256<T> va = Vector256.Create(alpha), vb = Vector256.Create(beta);
        bool betaZero = T.IsZero(beta);
        StoreRow256(c, c00, c01, va, vb, betaZero); c += ldc;
        StoreRow256(c, c10, c11, va, vb, betaZero); c += ldc;
        StoreRow256(c, c20, c21, va, vb, betaZero); c += ldc;
        StoreRow256(c, c30, c31, va, vb, betaZero); c += ldc;
        StoreRow256(c, c40, c41, va, vb, betaZero); c += ldc;
        StoreRow256(c, c50, c51, va, vb, betaZero);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow512(T* c, Vector512<T> acc0, Vector512<T> acc1, Vector512<T> alpha, Vector512<T> beta, bool betaZero)
    {
        T* c1 = c + Vector512<T>.Count;
        if (betaZero)
        {
            Vector512.Store(acc0 * alpha, c);
            Vector512.Store(acc1 * alpha, c1);
        }
        else
        {
            Vector512.Store(MulAdd(Vector512.Load(c), beta, acc0 * alpha), c);
            Vector512.Store(MulAdd(Vector512.Load(c1), beta, acc1 * alpha), c1);
        }
    }

    /// <summary>
    /// Same kernel with 512-bit vectors (6 x 32 floats), chosen at run time on AVX-512 machines,
    /// with the same C prefetch and 4-step unrolling (without them it ran 5-15% behind OpenBLAS at
    /// 1024^3 and above on Zen 5).
    /// AVX-512 has 32 registers, so a taller tile would fit; 6 rows keeps the two kernels alike.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroKernel512(int kc, T* a, T* b, long ldb, T* c, int ldc, T alpha, T beta)
    {
        int w = Vector512<T>.Count;
        if (Sse.IsSupported)
        {
            // As in the 256-bit kernel: request the C tile (two cache lines a row) before the k loop.
            T* cp = c;
            for (int i = 0; i < MR; i++, cp += ldc) { Sse.Prefetch0(cp); Sse.Prefetch0(cp + 2 * w - 1); }
        }
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        int p = 0;
        // Unrolled 4 times with one prefetch of A per 4 steps, like the 256-bit kernel.
        for (; p + 4 <= kc; p += 4)
        {
            if (Sse.IsSupported) Sse.Prefetch0((byte*)a + PrefetchBytes);
            Vector512<T> b0, b1, x;
            b0 = Vector512.Load(b + 0 * ldb); b1 = Vector512.Load(b + 0 * ldb + w);   // step p + 0
            x = Vector512.Create(a[0]); c00 = MulAdd(x, b0, c00); c01 = MulAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = MulAdd(x, b0, c10); c11 = MulAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = MulAdd(x, b0, c20); c21 = MulAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = MulAdd(x, b0, c30); c31 = MulAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = MulAdd(x, b0, c40); c41 = MulAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = MulAdd(x, b0, c50); c51 = MulAdd(x, b1, c51);
            b0 = Vector512.Load(b + 1 * ldb); b1 = Vector512.Load(b + 1 * ldb + w);   // step p + 1
            x = Vector512.Create(a[6]); c00 = MulAdd(x, b0, c00); c01 = MulAdd(x, b1, c01);
            x = Vector512.Create(a[7]); c10 = MulAdd(x, b0, c10); c11 = MulAdd(x, b1, c11);
            x = Vector512.Create(a[8]); c20 = MulAdd(x, b0, c20); c21 = MulAdd(x, b1, c21);
            x = Vector512.Create(a[9]); c30 = MulAdd(x, b0, c30); c31 = MulAdd(x, b1, c31);
            x = Vector512.Create(a[10]); c40 = MulAdd(x, b0, c40); c41 = MulAdd(x, b1, c41);
            x = Vector512.Create(a[11]); c50 = MulAdd(x, b0, c50); c51 = MulAdd(x, b1, c51);
            b0 = Vector512.Load(b + 2 * ldb); b1 = Vector512.Load(b + 2 * ldb + w);   // step p + 2
            x = Vector512.Create(a[12]); c00 = MulAdd(x, b0, c00); c01 = MulAdd(x, b1, c01);
            x = Vector512.Create(a[13]); c10 = MulAdd(x, b0, c10); c11 = MulAdd(x, b1, c11);
            x = Vector512.Create(a[14]); c20 = MulAdd(x, b0, c20); c21 = MulAdd(x, b1, c21);
            x = Vector512.Create(a[15]); c30 = MulAdd(x, b0, c30); c31 = MulAdd(x, b1, c31);
            x = Vector512.Create(a[16]); c40 = MulAdd(x, b0, c40); c41 = MulAdd(x, b1, c41);
            x = Vector512.Create(a[17]); c50 = MulAdd(x, b0, c50); c51 = MulAdd(x, b1, c51);
            b0 = Vector512.Load(b + 3 * ldb); b1 = Vector512.Load(b + 3 * ldb + w);   // step p + 3
            x = Vector512.Create(a[18]); c00 = MulAdd(x, b0, c00); c01 = MulAdd(x, b1, c01);
            x = Vector512.Create(a[19]); c10 = MulAdd(x, b0, c10); c11 = MulAdd(x, b1, c11);
            x = Vector512.Create(a[20]); c20 = MulAdd(x, b0, c20); c21 = MulAdd(x, b1, c21);
            x = Vector512.Create(a[21]); c30 = MulAdd(x, b0, c30); c31 = MulAdd(x, b1, c31);
            x = Vector512.Create(a[22]); c40 = MulAdd(x, b0, c40); c41 = MulAdd(x, b1, c41);
            x = Vector512.Create(a[23]); c50 = MulAdd(x, b0, c50); c51 = MulAdd(x, b1, c51);
            a += 4 * MR;
            b += 4 * ldb;
        }
        for (; p < kc; p++) // the last kc % 4 steps
        {
            Vector512<T> b0 = Vector512.Load(b), b1 = Vector512.Load(b + w);
            Vector512<T> x = Vector512.Create(a[0]);
            c00 = MulAdd(x, b0, c00); c01 = MulAdd(x, b1, c01);
            x = Vector512.Create(a[1]);
            c10 = MulAdd(x, b0, c10); c11 = MulAdd(x, b1, c11);
            x = Vector512.Create(a[2]);
            c20 = MulAdd(x, b0, c20); c21 = MulAdd(x, b1, c21);
            x = Vector512.Create(a[3]);
            c30 = MulAdd(x, b0, c30); c31 = MulAdd(x, b1, c31);
            x = Vector512.Create(a[4]);
            c40 = MulAdd(x, b0, c40); c41 = MulAdd(x, b1, c41);
            x = Vector512.Create(a[5]);
            c50 = MulAdd(x, b0, c50); c51 = MulAdd(x, b1, c51);
            a += MR;
            b += ldb;
        }
        Vector512<T> va = Vector512.Create(alpha), vb = Vector512.Create(beta);
        bool betaZero = T.IsZero(beta);
        StoreRow512(c, c00, c01, va, vb, betaZero); c += ldc;
        StoreRow512(c, c10, c11, va, vb, betaZero); c += ldc;
        StoreRow512(c, c20, c21, va, vb, betaZero); c += ldc;
        StoreRow512(c, c30, c31, va, vb, betaZero); c += ldc;
        StoreRow512(c, c40, c41, va, vb, betaZero); c += ldc;
        StoreRow512(c, c50, c51, va, vb, betaZero);
    }
}
