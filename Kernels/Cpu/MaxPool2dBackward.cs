using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// Max-pool backward on the CPU (see <see cref="MaxPool2d"/>'s remarks): the gather over the
/// windows that cover each input element, the scatter for windows that do not overlap, and the
/// 2x2 stride-2 float plane written from masked, interleaved gradients.
/// </summary>
public static unsafe partial class MaxPool2d
{
    private static void BackwardCore<T>(Pool2dGeometry g, T* gradOutput, int* argmax, T* gradInput)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long inPlane = (long)g.InHeight * g.InWidth, outPlane = (long)g.OutHeight * g.OutWidth;
        // Rows narrower than a vector (a 5x5 output) would leave Backward2x2Plane on its scalar
        // loop, four unpredictable selects per output; the scatter below (zero the plane, then one
        // add per output) took the CNN's 64x64x11x11 pool from about 1 ms to 0.17 ms.
        if (typeof(T) == typeof(float) && Avx2.IsSupported && g.OutWidth >= Vector256<float>.Count
            && g is { KernelHeight: 2, KernelWidth: 2, StrideH: 2, StrideW: 2, PadH: 0, PadW: 0 })
        {
            CpuParallel.For(g.Batch * g.Channels,
                i => Backward2x2Plane((float*)gradOutput + i * outPlane, argmax + i * outPlane, g.OutHeight, g.OutWidth,
                    (float*)gradInput + i * inPlane, g.InHeight, g.InWidth),
                workPerItem: inPlane + outPlane);
            return;
        }
        if (g.KernelHeight <= g.StrideH && g.KernelWidth <= g.StrideW)
        {
            // Windows do not overlap (kernel 2, stride 2 is the usual case), so each input
            // element belongs to at most one window and receives at most one gradient: scatter
            // each output's gradient to its argmax instead of gathering.
            CpuParallel.For(g.Batch * g.Channels,
                i => BackwardScatterPlane(gradOutput + i * outPlane, argmax + i * outPlane, (int)outPlane, gradInput + i * inPlane, (int)inPlane),
                workPerItem: inPlane + outPlane);
            return;
        }
        CpuParallel.For(g.Batch * g.Channels,
            i => BackwardPlane(g, gradOutput + i * outPlane, argmax + i * outPlane, gradInput + i * inPlane),
            workPerItem: inPlane * (1 + g.KernelHeight * g.KernelWidth / Math.Max(1, g.StrideH * g.StrideW)));
    }

    /// <summary>
    /// One plane's input gradient for the usual pool (2x2 windows, stride 2, no padding), float:
    /// each pair of input rows is written once, in order, from the output row that covers it,
    /// with no zeroing pass and no scattered read-modify-writes (the general path's costs). For 8
    /// windows at a time, each of the four window positions gets the gradient where the argmax
    /// points at it and 0 elsewhere; even and odd columns are then interleaved into the two rows.
    /// A last row or column that no window covers (odd sizes) is zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Backward2x2Plane(float* gradOut, int* argmax, int oh, int ow, float* gradIn, int h, int w)
    {
        const int lanes = 8;
        for (int o = 0; o < oh; o++)
        {
            float* grad = gradOut + o * ow;
            int* arg = argmax + o * ow;
            float* top = gradIn + 2 * o * w, bottom = top + w;
            int corner = 2 * o * w;   // the argmax a window's top-left input would have
            int j = 0;
            if (ow >= lanes)
            {
                for (; ; j += lanes)
                {
                    int block = Math.Min(j, ow - lanes);   // the last block may overlap: it writes the same values again
                    Vector256<int> a = Vector256.Load(arg + block);
                    Vector256<float> gv = Vector256.Load(grad + block);
                    Vector256<int> topLeft = Vector256.Create(corner + 2 * block) + Vector256<int>.Indices * 2;
                    StoreInterleaved(gv & Vector256.Equals(a, topLeft).AsSingle(), gv & Vector256.Equals(a, topLeft + Vector256<int>.One).AsSingle(),
                        top + 2 * block);
                    Vector256<int> bottomLeft = topLeft + Vector256.Create(w);
                    StoreInterleaved(gv & Vector256.Equals(a, bottomLeft).AsSingle(), gv & Vector256.Equals(a, bottomLeft + Vector256<int>.One).AsSingle(),
                        bottom + 2 * block);
                    if (block == ow - lanes) break;
                }
                j = ow;
            }
            for (; j < ow; j++)
            {
                int i = arg[j] - corner - 2 * j;   // 0, 1, w or w + 1 for an argmax inside the window
                top[2 * j] = i == 0 ? grad[j] : 0;
                top[2 * j + 1] = i == 1 ? grad[j] : 0;
                bottom[2 * j] = i == w ? grad[j] : 0;
                bottom[2 * j + 1] = i == w + 1 ? grad[j] : 0;
            }
            if (w > 2 * ow) top[w - 1] = bottom[w - 1] = 0;
        }
        if (h > 2 * oh) new Span<float>(gradIn + (long)2 * oh * w, w).Clear();
    }

    /// <summary>dst = even[0], odd[0], even[1], odd[1], ... (16 floats).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreInterleaved(Vector256<float> even, Vector256<float> odd, float* dst)
    {
        Vector256<float> lo = Avx.UnpackLow(even, odd), hi = Avx.UnpackHigh(even, odd);   // e0 o0 e1 o1 | e4 o4 e5 o5, ...
        Avx.Store(dst, Avx.Permute2x128(lo, hi, 0x20));
        Avx.Store(dst + 8, Avx.Permute2x128(lo, hi, 0x31));
    }

    /// <summary>
    /// One plane's input gradient for non-overlapping windows: zero, then add each output's
    /// gradient at its argmax, in output order. An argmax outside the plane (never produced by
    /// <see cref="Forward{T}"/>) is skipped rather than written out of bounds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardScatterPlane<T>(T* gradOut, int* argmax, int outPlane, T* gradIn, int inPlane)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        new Span<T>(gradIn, inPlane).Clear();
        for (int o = 0; o < outPlane; o++)
        {
            int i = argmax[o];
            if ((uint)i < (uint)inPlane) gradIn[i] += gradOut[o];
        }
    }

    /// <summary>
    /// Gathers one plane's input gradient, one input row at a time.
    /// </summary>
    /// <remarks>
    /// Horizontally, input column iw sits at u = iw + PadW in padded coordinates. Split u by its
    /// remainder modulo the stride: u = j*stride + q ("phase" q, index j). Window ow covers u when
    /// u - ow*stride = kw is a valid kernel column, i.e. ow = j - t with kw = t*stride + q. So for a
    /// fixed kw, input j of phase q reads window j - t: consecutive inputs read consecutive
    /// windows, which vectorises with plain loads. Each phase is summed into its own short buffer,
    /// then the phases are interleaved back into the row.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardPlane<T>(in Pool2dGeometry g, T* gradOut, int* argmax, T* gradIn)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int h = g.InHeight, w = g.InWidth, oh = g.OutHeight, ow = g.OutWidth;
        int sh = g.StrideH, sw = g.StrideW, ph = g.PadH, pw = g.PadW, kernelH = g.KernelHeight, kernelW = g.KernelWidth;
        int phaseLength = (w - 1 + pw) / sw + 1;      // j runs over [0, phaseLength)
        T* phases = ThreadScratch.Work<T>((long)sw * phaseLength); // phase q at phases + q*phaseLength

        for (int ih = 0; ih < h; ih++)
        {
            T* row = gradIn + (long)ih * w;
            // Output rows whose window covers input row ih: oh*sh - ph <= ih <= oh*sh - ph + kernelH - 1.
            int firstOh = Math.Max(0, CeilDiv(ih + ph - kernelH + 1, sh));
            int lastOh = Math.Min(oh - 1, (ih + ph) / sh);
            if (firstOh > lastOh)
            {
                new Span<T>(row, w).Clear(); // stride larger than the kernel: no window reads this row
                continue;
            }
            new Span<T>(phases, sw * phaseLength).Clear();
            for (int o = firstOh; o <= lastOh; o++)
            {
                T* gradRow = gradOut + (long)o * ow;
                int* argRow = argmax + (long)o * ow;
                // Descending kw = ascending window column for each input element, so the sum runs in
                // the same order as a plain loop over the output (handy for exact comparisons).
                for (int k = kernelW - 1; k >= 0; k--)
                {
                    int q = k % sw, t = k / sw;
                    // Index the argmax must equal for input j of phase q: ih*W + (j*sw + q - pw).
                    AccumulatePhase(phases + q * phaseLength, gradRow - t, argRow - t, t, Math.Min(phaseLength, ow + t),
                        ih * w + q - pw, sw);
                }
            }
            InterleavePhases(phases, phaseLength, sw, pw, row, w);
        }
    }

    /// <summary>
    /// For j in [jStart, jEnd): acc[j] += grad[j] when arg[j] == first + j*step. The caller has
    /// shifted grad and arg so that index j reads window j - t.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulatePhase<T>(T* acc, T* grad, int* arg, int jStart, int jEnd, int first, int step)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Vector256<T>.Count;
        int j = jStart;
        if (Vector256.IsHardwareAccelerated && jEnd - jStart >= lanes)
        {
            for (; j + lanes <= jEnd; j += lanes)
            {
                Vector256<T> hit = Matches<T>(arg + j, first + j * step, step);
                (Vector256.Load(acc + j) + (Vector256.Load(grad + j) & hit)).Store(acc + j);
            }
            if (j < jEnd)
            {
                // Tail: redo the last full block, but mask off the lanes already added.
                int block = jEnd - lanes;
                Vector256<T> fresh = Vector256.GreaterThanOrEqual(Vector256<T>.Indices, Vector256.Create(T.CreateTruncating(j - block)));
                Vector256<T> hit = Matches<T>(arg + block, first + block * step, step) & fresh;
                (Vector256.Load(acc + block) + (Vector256.Load(grad + block) & hit)).Store(acc + block);
                j = jEnd;
            }
        }
        for (; j < jEnd; j++)
            if (arg[j] == first + j * step) acc[j] += grad[j];
    }

    /// <summary>All-ones lanes where arg[lane] == first + lane*step, as a mask of T-sized lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Matches<T>(int* arg, int first, int step) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Vector256.Equals(Vector256.Load(arg), Vector256.Create(first) + Vector256<int>.Indices * step).As<int, T>();
        // double: 4 lanes of 64 bits; compare 4 ints, then sign-extend each 0 / -1 result to 64 bits.
        Vector128<int> eq = Vector128.Equals(Vector128.Load(arg), Vector128.Create(first) + Vector128<int>.Indices * step);
        return Vector256.Create(Vector128.WidenLower(eq), Vector128.WidenUpper(eq)).As<long, T>();
    }

    /// <summary>row[iw] = phases[q][j] where iw + pad = j*stride + q.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InterleavePhases<T>(T* phases, int phaseLength, int stride, int pad, T* row, int width)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (stride == 1)
        {
            new ReadOnlySpan<T>(phases + pad, width).CopyTo(new Span<T>(row, width));
            return;
        }
        int coveredLo = pad, coveredHi = pad; // u range written by the vector loop
        int lanes = Vector256<T>.Count;
        if (stride == 2 && Avx2.IsSupported)
        {
            // A block at j writes u = 2j .. 2j + 2*lanes - 1, i.e. row[2j - pad ..]; keep it in the row.
            int jFirst = (pad + 1) / 2, jLast = width + pad - 2 * lanes;
            if (jLast >= 0 && (jLast /= 2) >= jFirst)
            {
                for (int j = jFirst; ; j += lanes)
                {
                    int block = Math.Min(j, jLast); // the last block may overlap: plain stores, harmless
                    StoreInterleaved(phases + block, phases + phaseLength + block, row + 2 * block - pad);
                    if (block == jLast) break;
                }
                coveredLo = 2 * jFirst;
                coveredHi = 2 * jLast + 2 * lanes;
            }
        }
        for (int u = pad; u < width + pad; u++)
        {
            if (u == coveredLo && coveredHi > coveredLo) { u = coveredHi - 1; continue; }
            row[u - pad] = phases[(u % stride) * phaseLength + u / stride];
        }
    }

    /// <summary>dst = even[0], odd[0], even[1], odd[1], ... (2*lanes elements).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreInterleaved<T>(T* even, T* odd, T* dst) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            StoreInterleaved(Avx.LoadVector256((float*)even), Avx.LoadVector256((float*)odd), (float*)dst);
        else
        {
            Vector256<double> e = Avx.LoadVector256((double*)even), o = Avx.LoadVector256((double*)odd);
            Vector256<double> lo = Avx.UnpackLow(e, o), hi = Avx.UnpackHigh(e, o); // e0 o0 e2 o2, e1 o1 e3 o3
            Avx.Store((double*)dst, Avx.Permute2x128(lo, hi, 0x20));
            Avx.Store((double*)dst + 4, Avx.Permute2x128(lo, hi, 0x31));
        }
    }
}
