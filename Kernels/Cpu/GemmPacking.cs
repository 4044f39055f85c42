using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Tensorium.Kernels.Cpu;

// GemmCore's packing: blocks of A and panels of B copied into the exact order the micro-kernels
// stream them. Kept apart from the blocking loops in Gemm.cs; MatrixA (GemmPackedA.cs) packs a
// stored A with PackA.
internal static unsafe partial class GemmCore<T> where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    // ------------------------------------------------------------------------------------------
    // Packing: copy a block into the exact order the micro-kernel streams it, zero-padding
    // partial strips so the kernel never needs edge checks.
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Packs op(A)[i0 .. i0+mc, p0 .. p0+kc] as MR-row strips; within a strip, for each p the MR
    /// values op(A)[i, p] for the strip's rows are adjacent (what the kernel broadcasts per step).
    /// </summary>
    internal static void PackA(bool transA, T* a, int lda, int i0, int mc, int p0, int kc, T* dst)
    {
        if (transA)
        {
            // op(A)[i, p] = a[p * lda + i]: row p of the source holds op(A)[i0 .. i0+mc, p] side by
            // side. Read it once, front to back, and deal its values out to the strips; reading
            // strip by strip instead would jump a whole source row (lda) for every 6 values.
            int fullStrips = mc / MR, rest = mc - fullStrips * MR;
            long stripSize = (long)MR * kc;
            for (int p = 0; p < kc; p++)
            {
                T* src = a + (long)(p0 + p) * lda + i0;
                T* d = dst + p * MR;
                // One block move of MR values per strip (a constant size: the JIT emits two vector moves).
                for (int s = 0; s < fullStrips; s++, src += MR, d += stripSize)
                    Unsafe.CopyBlockUnaligned(d, src, (uint)(MR * sizeof(T)));
                if (rest > 0)
                    for (int r = 0; r < MR; r++) d[r] = r < rest ? src[r] : T.Zero;
            }
            return;
        }
        for (int ir = 0; ir < mc; ir += MR)
        {
            // op(A)[i, p] = a[i * lda + p]: read MR rows side by side, interleave them.
            int rows = Math.Min(MR, mc - ir);
            T* r0 = a + (long)(i0 + ir) * lda + p0;
            if (rows == MR)
            {
                T* r1 = r0 + lda, r2 = r1 + lda, r3 = r2 + lda, r4 = r3 + lda, r5 = r4 + lda;
                int p = 0;
                if (typeof(T) == typeof(float) && Avx.IsSupported)
                    for (; p + 8 <= kc; p += 8, dst += 8 * MR)
                        Pack6x8((float*)(r0 + p), lda, (float*)dst);
                for (; p < kc; p++, dst += MR)
                {
                    dst[0] = r0[p]; dst[1] = r1[p]; dst[2] = r2[p];
                    dst[3] = r3[p]; dst[4] = r4[p]; dst[5] = r5[p];
                }
            }
            else
                for (int p = 0; p < kc; p++, dst += MR)
                    for (int r = 0; r < MR; r++) dst[r] = r < rows ? r0[(long)r * lda + p] : T.Zero;
        }
    }

    /// <summary>
    /// Interleaves an MR (6) x 8 float block of A (rows ldSrc apart) into 8 groups of 6:
    /// dst[6 * c + r] = src[r * ldSrc + c]. The same unpack/shuffle steps as
    /// <see cref="Transpose8x8"/> on rows 0-3, with rows 4-5 paired by one unpack each; each
    /// group is then stored as 4 + 2 values, so nothing is written past the block. Packing A
    /// value by value took about as long as packing B (a straight copy) at 512^3.
    /// </summary>
    private static void Pack6x8(float* src, int ldSrc, float* dst) =>
        Pack6x8(src, src + ldSrc, src + 2 * (long)ldSrc, src + 3 * (long)ldSrc, src + 4 * (long)ldSrc, src + 5 * (long)ldSrc, dst);

    /// <summary>
    /// <see cref="Pack6x8(float*, int, float*)"/> with each row read from its own place: the 8
    /// values at row0 .. row5 become dst[6 * c + r] = rowR[c]. (Conv2d's weight gradient packs its
    /// im2col strips straight from the image this way, one tap per row.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Pack6x8(float* row0, float* row1, float* row2, float* row3, float* row4, float* row5, float* dst)
    {
        Vector256<float> r0 = Avx.LoadVector256(row0), r1 = Avx.LoadVector256(row1);
        Vector256<float> r2 = Avx.LoadVector256(row2), r3 = Avx.LoadVector256(row3);
        Vector256<float> r4 = Avx.LoadVector256(row4), r5 = Avx.LoadVector256(row5);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        // Per 128-bit lane l (columns 4l ..): s0 = rows 0-3 of column 4l, s1 of 4l+1, s2 of 4l+2, s3 of 4l+3.
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        // Rows 4-5 as pairs: u0 holds columns 4l and 4l+1 of lane l, u1 columns 4l+2 and 4l+3.
        Vector256<double> u0 = Avx.UnpackLow(r4, r5).AsDouble(), u1 = Avx.UnpackHigh(r4, r5).AsDouble();
        Vector128<double> u0Low = u0.GetLower(), u0High = u0.GetUpper(), u1Low = u1.GetLower(), u1High = u1.GetUpper();
        Sse.Store(dst, s0.GetLower()); Sse2.StoreScalar((double*)(dst + 4), u0Low);
        Sse.Store(dst + 6, s1.GetLower()); Sse2.StoreHigh((double*)(dst + 10), u0Low);
        Sse.Store(dst + 12, s2.GetLower()); Sse2.StoreScalar((double*)(dst + 16), u1Low);
        Sse.Store(dst + 18, s3.GetLower()); Sse2.StoreHigh((double*)(dst + 22), u1Low);
        Sse.Store(dst + 24, s0.GetUpper()); Sse2.StoreScalar((double*)(dst + 28), u0High);
        Sse.Store(dst + 30, s1.GetUpper()); Sse2.StoreHigh((double*)(dst + 34), u0High);
        Sse.Store(dst + 36, s2.GetUpper()); Sse2.StoreScalar((double*)(dst + 40), u1High);
        Sse.Store(dst + 42, s3.GetUpper()); Sse2.StoreHigh((double*)(dst + 46), u1High);
    }

    /// <summary>
    /// Packs op(B)[p0 .. p0+kc, j0 .. j0+nc] as nr-column strips; within a strip, the nr values of
    /// one row p are adjacent (the kernel loads them as two vectors per step).
    /// </summary>
    private static void PackB(bool transB, T* b, int ldb, int p0, int kc, int j0, int nc, int nr, T* dst)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            int j = j0 + jr;
            if (!transB)
            {
                // op(B)[p, j] = b[p * ldb + j]: each packed row is a straight copy.
                T* src = b + (long)p0 * ldb + j;
                if (cols == nr && nr == NR256)
                    for (int p = 0; p < kc; p++, src += ldb, dst += nr)
                    {
                        // Two explicit vector copies: a general memcpy call costs more than the copy.
                        Vector256.Store(Vector256.Load(src), dst);
                        Vector256.Store(Vector256.Load(src + Vector256<T>.Count), dst + Vector256<T>.Count);
                    }
                else if (cols == nr)   // the 512-bit kernel's strips (nr is NR512)
                    for (int p = 0; p < kc; p++, src += ldb, dst += nr)
                    {
                        // Likewise: a Span copy here (a Memmove call per 128-byte row) took 5.7% of
                        // a 512x3072x768 product on Zen 4, against 43% in the micro-kernel.
                        Vector512.Store(Vector512.Load(src), dst);
                        Vector512.Store(Vector512.Load(src + Vector512<T>.Count), dst + Vector512<T>.Count);
                    }
                else
                    for (int p = 0; p < kc; p++, src += ldb, dst += nr)
                    {
                        new ReadOnlySpan<T>(src, cols).CopyTo(new Span<T>(dst, cols));
                        new Span<T>(dst + cols, nr - cols).Clear();
                    }
            }
            else
            {
                // op(B)[p, j] = b[j * ldb + p]: the strip is a transposed block of the source.
                int p = 0;
                if (typeof(T) == typeof(float) && Avx.IsSupported && cols == nr)
                {
                    // Fast path: transpose 8 x 8 blocks in registers (8 row loads, 8 row stores)
                    // instead of moving one float at a time with a stride-nr scatter.
                    for (; p + 8 <= kc; p += 8)
                        for (int jb = 0; jb < nr; jb += 8)
                            Transpose8x8((float*)(b + (long)(j + jb) * ldb + p0 + p), ldb, (float*)(dst + p * nr + jb), nr);
                    if (p == kc) { dst += (long)kc * nr; continue; }
                }
                // General path (and the last kc % 8 rows): walk each source row (one column of
                // op(B)) contiguously and scatter it down the strip with stride nr.
                for (int jj = 0; jj < nr; jj++)
                {
                    T* d = dst + (long)p * nr + jj;
                    if (jj < cols)
                    {
                        T* src = b + (long)(j + jj) * ldb + p0;
                        for (int q = p; q < kc; q++, d += nr) *d = src[q];
                    }
                    else
                        for (int q = p; q < kc; q++, d += nr) *d = T.Zero;
                }
                dst += (long)kc * nr;
            }
        }
    }

    /// <summary>
    /// dst[c * ldDst + r] = src[r * ldSrc + c] for an 8 x 8 float block, using the classic AVX
    /// sequence: interleave pairs of rows (unpack), then pairs of pairs (shuffle), then swap
    /// 128-bit halves (permute2f128).
    /// </summary>
    private static void Transpose8x8(float* src, int ldSrc, float* dst, int ldDst)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + ldSrc);
        Vector256<float> r2 = Avx.LoadVector256(src + 2 * (long)ldSrc), r3 = Avx.LoadVector256(src + 3 * (long)ldSrc);
        Vector256<float> r4 = Avx.LoadVector256(src + 4 * (long)ldSrc), r5 = Avx.LoadVector256(src + 5 * (long)ldSrc);
        Vector256<float> r6 = Avx.LoadVector256(src + 6 * (long)ldSrc), r7 = Avx.LoadVector256(src + 7 * (long)ldSrc);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + ldDst, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 2 * ldDst, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 3 * ldDst, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 4 * ldDst, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 5 * ldDst, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 6 * ldDst, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 7 * ldDst, Avx.Permute2x128(s3, s7, 0x31));
    }
}
