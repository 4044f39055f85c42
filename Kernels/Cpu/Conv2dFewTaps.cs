using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

using static Tensorium.Kernels.Cpu.Fused;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

// Conv2d's direct loops for a layer with few filter taps (a first layer: 1-3 input channels and a
// 3x3 filter), where the forward pass and the weight gradient skip the GEMM.
public static unsafe partial class Conv2d
{
    /// <summary>
    /// Largest im2col row count (InC*KH*KW) for which the weight gradient is computed by
    /// <see cref="BackwardWeightFewTaps{T}"/> rather than a GEMM.
    /// </summary>
    private const int FewTapsMax = 32;

    /// <summary>Most image chunks <see cref="BackwardWeightFewTaps{T}"/> splits the batch into.</summary>
    private const int FewTapsChunks = 16;

    /// <summary>
    /// d weight[OutC, K] for a first layer with few taps (1 input channel and a 3x3 filter gives
    /// K = 9). As a GEMM that is an output only 9 wide with an inner dimension of N*P, a shape a
    /// GEMM's 16-column register tiles waste half of, after packing the whole inner dimension.
    /// Here it is OutC*K dot products of length P per image, run straight from each image's
    /// output gradient and im2col rows with no packing and no copy of the gradient.
    /// </summary>
    /// <remarks>
    /// The batch is split into a fixed number of chunks of consecutive images (set by the shape,
    /// not the thread count); each chunk sums its images in order into its own partial, and the
    /// partials are added in chunk order, so the result is the same on every run, whatever the
    /// thread count.
    /// </remarks>
    private static void BackwardWeightFewTaps<T>(in Conv2dGeometry g, T* input, T* gradOutput, T* gradWeight, long chunkElements)
        where T : unmanaged, INumber<T>
    {
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels, batch = g.Batch;
        long inImage = g.InImage, outImage = g.OutImage;
        int chunks = (int)Math.Min(Math.Min(batch, FewTapsChunks), GroupElements / chunkElements);
        T* scratch = ThreadScratch.Work<T>(chunks * chunkElements); // taken before the workers start
        Conv2dGeometry geometry = g; // lambdas cannot capture an in parameter
        CpuParallel.For(chunks, c =>
        {
            T* col = scratch + c * chunkElements, partial = col + (long)k * p;
            new Span<T>(partial, outC * k).Clear();
            int first = (int)((long)batch * c / chunks), end = (int)((long)batch * (c + 1) / chunks);
            for (int n = first; n < end; n++)
            {
                Im2Col(geometry, input + n * inImage, col, 0, p, p);
                DotRowsAdd(gradOutput + n * outImage, outC, col, k, p, partial);
            }
        }, (long)batch / chunks * 2L * outC * k * p);

        for (int i = 0; i < outC * k; i++)
        {
            T sum = scratch[(long)k * p + i];
            for (int c = 1; c < chunks; c++) sum += scratch[c * chunkElements + (long)k * p + i];
            gradWeight[i] = sum;
        }
    }

    /// <summary>
    /// output[oc, x] = bias[oc] + sum over r of weight[oc, r] * col[r, x], for one image with few
    /// taps (col is [taps, p], p at least one vector). Columns go three vectors at a time, and
    /// within them four output channels at a time: each column vector loaded then feeds four
    /// multiply-adds and each broadcast weight three, so the loop is bound by arithmetic rather
    /// than loads (one channel at a time took 1.5 loads per multiply-add). The last block is
    /// moved back to end at p, overlapping the previous one (recomputing a few outputs from the
    /// same inputs writes the same values). Every output sums bias then taps in order, whatever
    /// the blocking.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardFewTaps<T>(T* col, int taps, int p, T* weight, T* bias, int outC, T* output)
        where T : unmanaged, INumber<T>
    {
        int lanes = Vector256<T>.Count;
        for (int x = 0; x < p; x += 3 * lanes)
        {
            int xa = Math.Min(x, p - lanes), xb = Math.Min(x + lanes, p - lanes), xc = Math.Min(x + 2 * lanes, p - lanes);
            int oc = 0;
            for (; oc + 4 <= outC; oc += 4)
                FewTaps4x3(col, taps, p, xa, xb, xc, weight + (long)oc * taps, bias == null ? null : bias + oc, output + (long)oc * p);
            for (; oc < outC; oc++)
            {
                Vector256<T> accA = bias == null ? default : Vector256.Create(bias[oc]), accB = accA, accC = accA;
                T* w = weight + (long)oc * taps, c = col;
                for (int r = 0; r < taps; r++, c += p)
                {
                    var wr = Vector256.Create(w[r]);
                    accA = MulAdd(wr, Vector256.Load(c + xa), accA);
                    accB = MulAdd(wr, Vector256.Load(c + xb), accB);
                    accC = MulAdd(wr, Vector256.Load(c + xc), accC);
                }
                T* y = output + (long)oc * p;
                accA.Store(y + xa);
                accB.Store(y + xb);
                accC.Store(y + xc);
            }
        }
    }

    /// <summary>
    /// The 4-channel block of <see cref="ForwardFewTaps{T}"/>: output rows 0-3 (p apart) at columns
    /// xa, xb and xc, from weight rows 0-3 (taps apart) and bias[0..3] (bias may be null).
    /// 12 running sums, 3 column vectors and a broadcast fill the 16 vector registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FewTaps4x3<T>(T* col, int taps, int p, int xa, int xb, int xc, T* weight, T* bias, T* output)
        where T : unmanaged, INumber<T>
    {
        Vector256<T> s0a = default, s1a = default, s2a = default, s3a = default;
        if (bias != null)
        {
            s0a = Vector256.Create(bias[0]); s1a = Vector256.Create(bias[1]);
            s2a = Vector256.Create(bias[2]); s3a = Vector256.Create(bias[3]);
        }
        Vector256<T> s0b = s0a, s0c = s0a, s1b = s1a, s1c = s1a, s2b = s2a, s2c = s2a, s3b = s3a, s3c = s3a;
        T* w0 = weight, w1 = weight + taps, w2 = weight + 2L * taps, w3 = weight + 3L * taps, c = col;
        for (int r = 0; r < taps; r++, c += p)
        {
            Vector256<T> va = Vector256.Load(c + xa), vb = Vector256.Load(c + xb), vc = Vector256.Load(c + xc), w;
            w = Vector256.Create(w0[r]); s0a = MulAdd(w, va, s0a); s0b = MulAdd(w, vb, s0b); s0c = MulAdd(w, vc, s0c);
            w = Vector256.Create(w1[r]); s1a = MulAdd(w, va, s1a); s1b = MulAdd(w, vb, s1b); s1c = MulAdd(w, vc, s1c);
            w = Vector256.Create(w2[r]); s2a = MulAdd(w, va, s2a); s2b = MulAdd(w, vb, s2b); s2c = MulAdd(w, vc, s2c);
            w = Vector256.Create(w3[r]); s3a = MulAdd(w, va, s3a); s3b = MulAdd(w, vb, s3b); s3c = MulAdd(w, vc, s3c);
        }
        T* y0 = output, y1 = output + p, y2 = output + 2L * p, y3 = output + 3L * p;
        s0a.Store(y0 + xa); s0b.Store(y0 + xb); s0c.Store(y0 + xc);
        s1a.Store(y1 + xa); s1b.Store(y1 + xb); s1c.Store(y1 + xc);
        s2a.Store(y2 + xa); s2b.Store(y2 + xb); s2c.Store(y2 + xc);
        s3a.Store(y3 + xa); s3b.Store(y3 + xb); s3c.Store(y3 + xc);
    }

    /// <summary>
    /// c[i, j] += dot(a row i, b row j) for a [rowsA, length] and b [rowsB, length] (row-major,
    /// rows length apart) and c [rowsA, rowsB]. Blocks of 4 x 3 rows keep 12 running sums in
    /// registers, so every vector loaded from a or b feeds 3 or 4 multiply-adds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotRowsAdd<T>(T* a, int rowsA, T* b, int rowsB, int length, T* c) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 4 <= rowsA; i += 4)
            {
                int j = 0;
                for (; j + 3 <= rowsB; j += 3)
                    Dot4x3(a + (long)i * length, b + (long)j * length, length, c + (long)i * rowsB + j, rowsB);
                for (; j < rowsB; j++)
                    for (int r = i; r < i + 4; r++) c[(long)r * rowsB + j] += Dot(a + (long)r * length, b + (long)j * length, length);
            }
        for (; i < rowsA; i++)
            for (int j = 0; j < rowsB; j++) c[(long)i * rowsB + j] += Dot(a + (long)i * length, b + (long)j * length, length);
    }

    /// <summary>The 4 x 3 block of <see cref="DotRowsAdd{T}"/>: c[r, s] += dot(a row r, b row s).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot4x3<T>(T* a, T* b, int length, T* c, int ldc) where T : unmanaged, INumber<T>
    {
        T* a0 = a, a1 = a + length, a2 = a + 2L * length, a3 = a + 3L * length;
        T* b0 = b, b1 = b + length, b2 = b + 2L * length;
        Vector256<T> s00 = default, s01 = default, s02 = default, s10 = default, s11 = default, s12 = default;
        Vector256<T> s20 = default, s21 = default, s22 = default, s30 = default, s31 = default, s32 = default;
        int lanes = Vector256<T>.Count, x = 0;
        for (; x <= length - lanes; x += lanes)
        {
            Vector256<T> v0 = Vector256.Load(b0 + x), v1 = Vector256.Load(b1 + x), v2 = Vector256.Load(b2 + x), u;
            u = Vector256.Load(a0 + x); s00 = MulAdd(u, v0, s00); s01 = MulAdd(u, v1, s01); s02 = MulAdd(u, v2, s02);
            u = Vector256.Load(a1 + x); s10 = MulAdd(u, v0, s10); s11 = MulAdd(u, v1, s11); s12 = MulAdd(u, v2, s12);
            u = Vector256.Load(a2 + x); s20 = MulAdd(u, v0, s20); s21 = MulAdd(u, v1, s21); s22 = MulAdd(u, v2, s22);
            u = Vector256.Load(a3 + x); s30 = MulAdd(u, v0, s30); s31 = MulAdd(u, v1, s31); s32 = MulAdd(u, v2, s32);
        }
        T* c1 = c + ldc, c2 = c + 2L * ldc, c3 = c + 3L * ldc;
        c[0] += Vector256.Sum(s00) + Tail(a0, b0, x, length); c[1] += Vector256.Sum(s01) + Tail(a0, b1, x, length); c[2] += Vector256.Sum(s02) + Tail(a0, b2, x, length);
        c1[0] += Vector256.Sum(s10) + Tail(a1, b0, x, length); c1[1] += Vector256.Sum(s11) + Tail(a1, b1, x, length); c1[2] += Vector256.Sum(s12) + Tail(a1, b2, x, length);
        c2[0] += Vector256.Sum(s20) + Tail(a2, b0, x, length); c2[1] += Vector256.Sum(s21) + Tail(a2, b1, x, length); c2[2] += Vector256.Sum(s22) + Tail(a2, b2, x, length);
        c3[0] += Vector256.Sum(s30) + Tail(a3, b0, x, length); c3[1] += Vector256.Sum(s31) + Tail(a3, b1, x, length); c3[2] += Vector256.Sum(s32) + Tail(a3, b2, x, length);
    }

    /// <summary>dot(a, b) over [0, length): vector sums, then the scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Dot<T>(T* a, T* b, int length) where T : unmanaged, INumber<T>
    {
        int x = 0;
        T sum = T.Zero;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<T> s = default;
            for (; x <= length - Vector256<T>.Count; x += Vector256<T>.Count)
                s = MulAdd(Vector256.Load(a + x), Vector256.Load(b + x), s);
            sum = Vector256.Sum(s);
        }
        return sum + Tail(a, b, x, length);
    }

    /// <summary>Scalar dot product of a and b over [from, length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Tail<T>(T* a, T* b, int from, int length) where T : unmanaged, INumber<T>
    {
        T sum = T.Zero;
        for (int x = from; x < length; x++) sum += a[x] * b[x];
        return sum;
    }
}
