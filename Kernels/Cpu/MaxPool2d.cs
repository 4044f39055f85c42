using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// 2-D max pooling over NCHW data on the CPU: a forward pass that also records where each
/// maximum came from, and a backward pass that routes gradients back through those positions.
/// </summary>
/// <remarks>
/// <para>
/// Semantics follow PyTorch: <c>argmax</c> is the flat index <c>ih*InWidth + iw</c> inside the
/// element's (n, c) plane; padding is never selected; on ties the first element in row-major
/// window order wins; a NaN in the window wins (the last NaN if there are several), so NaN
/// propagates.
/// </para>
/// <para>
/// The backward pass is a gather: every input element sums the gradients of the windows that
/// cover it and picked it. No element is written twice and no atomics are needed, so the same
/// algorithm maps onto a GPU thread per element. Any window size and stride works, overlapping
/// windows included. When windows do not overlap (kernel at most the stride, e.g. 2x2 stride 2)
/// each input element is in at most one window, so a plain scatter of each output's gradient to
/// its argmax gives the same result with far less work, and is used instead; for the usual 2x2,
/// stride-2, unpadded float pool, each pair of input rows is written once from masked, interleaved
/// gradients (no zeroing pass, no scattered read-modify-writes).
/// </para>
/// <para>
/// Planes are independent, so threads split the N*C planes. Inside a plane, a row of outputs is
/// computed several at a time with 256-bit vectors (stride 1 and 2), and the scalar code handles
/// the borders where a window touches the padding. The 2x2, stride-2, unpadded forward pass has its
/// own loop with no bounds to clip; when its output rows are narrower than a vector it gathers
/// the window elements of several rows at once.
/// </para>
/// </remarks>
public static unsafe partial class MaxPool2d
{
    /// <summary>Forward pass: output and argmax are [N, C, OutHeight, OutWidth] and are overwritten. T is float or double.</summary>
    public static void Forward<T>(in Pool2dGeometry g, T* input, T* output, int* argmax)
        where T : unmanaged, IFloatingPointIeee754<T>
        => ForwardCore(g, input, output, argmax);

    /// <summary>
    /// Backward pass: gradInput[n, c, i] = sum of gradOutput[n, c, o] over the windows o that cover
    /// input element i and whose argmax is i. gradInput is overwritten.
    /// </summary>
    public static void Backward<T>(in Pool2dGeometry g, T* gradOutput, int* argmax, T* gradInput)
        where T : unmanaged, IFloatingPointIeee754<T>
        => BackwardCore(g, gradOutput, argmax, gradInput);

    // ---------------------------------------------------------------- forward

    private static void ForwardCore<T>(Pool2dGeometry g, T* input, T* output, int* argmax)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long inPlane = (long)g.InHeight * g.InWidth, outPlane = (long)g.OutHeight * g.OutWidth;
        if (g is { KernelHeight: 2, KernelWidth: 2, StrideH: 2, StrideW: 2, PadH: 0, PadW: 0 })
        {
            int w = g.InWidth, oh = g.OutHeight, ow = g.OutWidth;
            if (Avx2.IsSupported && ow < Vector256<T>.Count && outPlane >= Vector256<T>.Count && outPlane <= NarrowPlaneMax)
            {
                // Rows narrower than a vector: gather whole planes instead (see Forward2x2Narrow).
                // Each output's window corner, 2y*W + 2x, is the same for every plane: list it once.
                int* corner = stackalloc int[(int)outPlane];
                for (int j = 0; j < outPlane; j++) corner[j] = 2 * (j / ow) * w + 2 * (j % ow);
                CpuParallel.For(g.Batch * g.Channels,
                    i => Forward2x2Narrow(input + i * inPlane, w, corner, (int)outPlane, output + i * outPlane, argmax + i * outPlane),
                    workPerItem: inPlane + outPlane * 4);
                return;
            }
            CpuParallel.For(g.Batch * g.Channels,
                i => Forward2x2Plane(input + i * inPlane, w, oh, ow, output + i * outPlane, argmax + i * outPlane),
                workPerItem: inPlane + outPlane * 4);
            return;
        }
        CpuParallel.For(g.Batch * g.Channels,
            i => ForwardPlane(g, input + i * inPlane, output + i * outPlane, argmax + i * outPlane),
            workPerItem: inPlane + outPlane * g.KernelHeight * g.KernelWidth);
    }

    /// <summary>
    /// The common 2x2, stride 2, unpadded pooling of one plane. Every window lies inside the
    /// input, so there are no bounds to clip, and the four candidates are compared in window order
    /// (top-left, top-right, bottom-left, bottom-right) with the same rule as the general path:
    /// a later candidate wins when strictly greater or NaN. Rows of at least one vector of outputs
    /// take a vector at a time (the last vector moved back to end at the row's end, overlapping);
    /// narrower rows are done one output at a time (<see cref="Forward2x2Narrow{T}"/> takes most of those).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward2x2Plane<T>(T* plane, int w, int oh, int ow, T* output, int* argmax)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Vector256<T>.Count;
        // The vector path carries the winner's offset (0, 1, w or w + 1) as a T: exact below 2^24.
        bool vector = Avx2.IsSupported && ow >= lanes && w < 1 << 23;
        var right = Vector256<T>.One;
        var below = Vector256.Create(T.CreateTruncating(w));
        var belowRight = below + right;
        for (int y = 0; y < oh; y++)
        {
            T* top = plane + 2L * y * w, bottom = top + w, outRow = output + (long)y * ow;
            int* argRow = argmax + (long)y * ow;
            int rowStart = 2 * y * w;
            if (vector)
            {
                for (int x = 0; x < ow; x += lanes)
                {
                    int b = Math.Min(x, ow - lanes);
                    Vector256<T> best = LoadEvenLanes(top + 2 * b), offset = Vector256<T>.Zero;
                    Take(LoadOddLanes(top + 2 * b), right, ref best, ref offset);
                    Take(LoadEvenLanes(bottom + 2 * b), below, ref best, ref offset);
                    Take(LoadOddLanes(bottom + 2 * b), belowRight, ref best, ref offset);
                    best.Store(outRow + b);
                    StoreIndices(offset, rowStart + 2 * b, 2, argRow + b);
                }
                continue;
            }
            for (int x = 0; x < ow; x++)
            {
                int i = 2 * x;
                T best = top[i];
                int offset = 0;
                T v = top[i + 1];
                if (v > best || T.IsNaN(v)) { best = v; offset = 1; }
                v = bottom[i];
                if (v > best || T.IsNaN(v)) { best = v; offset = w; }
                v = bottom[i + 1];
                if (v > best || T.IsNaN(v)) { best = v; offset = w + 1; }
                outRow[x] = best;
                argRow[x] = rowStart + i + offset;
            }
        }
    }

    /// <summary>Largest output plane <see cref="Forward2x2Narrow{T}"/> handles (its corner list is on the stack).</summary>
    private const int NarrowPlaneMax = 4096;

    /// <summary>
    /// 2x2, stride-2 pooling of a plane whose output rows are narrower than a vector (an 11x11
    /// input gives rows of 5). One output at a time, the three data-dependent comparisons are
    /// branches the CPU mispredicts about half the time on real data; instead, take a vector of
    /// consecutive outputs across row boundaries, gathering each window's four candidates through
    /// the precomputed window corners, and compare branch-free as the wide path does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward2x2Narrow<T>(T* plane, int w, int* corner, int outPlane, T* output, int* argmax)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Vector256<T>.Count;
        var right = Vector256<T>.One;
        var below = Vector256.Create(T.CreateTruncating(w));
        var belowRight = below + right;
        for (int j = 0; j < outPlane; j += lanes)
        {
            int b = Math.Min(j, outPlane - lanes); // the last block overlaps: recomputing is harmless
            Vector256<T> best = Gather(plane, corner + b), offset = Vector256<T>.Zero;
            Take(Gather(plane + 1, corner + b), right, ref best, ref offset);
            Take(Gather(plane + w, corner + b), below, ref best, ref offset);
            Take(Gather(plane + w + 1, corner + b), belowRight, ref best, ref offset);
            best.Store(output + b);
            if (typeof(T) == typeof(float))
                (Vector256.ConvertToInt32(offset.AsSingle()) + Vector256.Load(corner + b)).Store(argmax + b);
            else
            {
                Vector256<long> wide = Vector256.ConvertToInt64(offset.AsDouble());
                (Vector128.Narrow(wide.GetLower(), wide.GetUpper()) + Vector128.Load(corner + b)).Store(argmax + b);
            }
        }
    }

    /// <summary>p[index[lane]] for every lane (AVX2 gather).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Gather<T>(T* p, int* index) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Avx2.GatherVector256((float*)p, Vector256.Load(index), 4).As<float, T>();
        return Avx2.GatherVector256((double*)p, Vector128.Load(index), 8).As<double, T>();
    }

    /// <summary>Per lane: when candidate &gt; best or candidate is NaN, best = candidate and offset = candidateOffset.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Take<T>(Vector256<T> candidate, Vector256<T> candidateOffset, ref Vector256<T> best, ref Vector256<T> offset)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector256<T> take = Vector256.GreaterThan(candidate, best) | Vector256.IsNaN(candidate);
        best = Select(take, candidate, best);
        offset = Select(take, candidateOffset, offset);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardPlane<T>(in Pool2dGeometry g, T* plane, T* output, int* argmax)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = g.InWidth, h = g.InHeight, ow = g.OutWidth, kw = g.KernelWidth, sw = g.StrideW, pw = g.PadW;
        int lanes = Vector256<T>.Count;
        // The vector path tracks the winner's offset inside the window (kh*W + kw) as a T, which
        // must be an exact integer: float has 24 bits of mantissa.
        bool offsetExact = typeof(T) == typeof(double) || (long)(g.KernelHeight - 1) * w + kw < 1 << 24;
        bool vector = Vector256.IsHardwareAccelerated && offsetExact && (sw == 1 || (sw == 2 && Avx2.IsSupported));
        // Output columns whose window lies fully inside the row (no padding): [inLo, inHi).
        int inLo = (pw + sw - 1) / sw;
        int inHi = w - kw + pw < 0 ? 0 : Math.Min(ow, (w - kw + pw) / sw + 1);
        vector &= inHi - inLo >= lanes;

        for (int oh = 0; oh < g.OutHeight; oh++)
        {
            int ihStart = oh * g.StrideH - g.PadH;
            int khLo = Math.Max(0, -ihStart), khHi = Math.Min(g.KernelHeight, h - ihStart);
            T* outRow = output + (long)oh * ow;
            int* argRow = argmax + (long)oh * ow;
            int x = 0;
            if (vector)
            {
                for (; x < inLo; x++) ForwardOne(g, plane, ihStart, khLo, khHi, x, outRow, argRow);
                for (; x < inHi; x += 2 * lanes)
                {
                    // The last blocks may overlap earlier ones: recomputing an output is harmless.
                    int blockA = Math.Min(x, inHi - lanes), blockB = Math.Min(x + lanes, inHi - lanes);
                    if (!ForwardBlocks(g, plane, ihStart, khLo, khHi, blockA, blockB, outRow, argRow))
                        for (int b = blockA; b < blockB + lanes; b++) ForwardOne(g, plane, ihStart, khLo, khHi, b, outRow, argRow);
                }
                x = inHi;
            }
            for (; x < ow; x++) ForwardOne(g, plane, ihStart, khLo, khHi, x, outRow, argRow);
        }
    }

    /// <summary>One output element, scalar, clipping the window to the input (padding never wins).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ForwardOne<T>(in Pool2dGeometry g, T* plane, int ihStart, int khLo, int khHi, int x, T* outRow, int* argRow)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = g.InWidth;
        int iwStart = x * g.StrideW - g.PadW;
        int kwLo = Math.Max(0, -iwStart), kwHi = Math.Min(g.KernelWidth, w - iwStart);
        // PyTorch starts from -inf and the first real element's index, so an all -inf window
        // still reports a position inside the input.
        T best = T.NegativeInfinity;
        int bestIndex = (ihStart + khLo) * w + iwStart + kwLo;
        for (int kh = khLo; kh < khHi; kh++)
        {
            int rowIndex = (ihStart + kh) * w + iwStart;
            for (int k = kwLo; k < kwHi; k++)
            {
                T v = plane[rowIndex + k];
                if (v > best || T.IsNaN(v)) { best = v; bestIndex = rowIndex + k; }
            }
        }
        outRow[x] = best;
        argRow[x] = bestIndex;
    }

    /// <summary>
    /// Outputs of two blocks of one row, [xa, xa+lanes) and [xb, xb+lanes), whose windows lie
    /// inside the row horizontally. Two blocks at once because each block's running maximum is a
    /// chain of dependent instructions (compare, blend, compare, ...): two independent chains
    /// keep the core busy while either waits. xb may equal xa (then the work is just done twice).
    /// Returns false (writing nothing) when a stride-2 load would leave the row, which only
    /// happens on rows narrower than about two vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool ForwardBlocks<T>(in Pool2dGeometry g, T* plane, int ihStart, int khLo, int khHi, int xa, int xb, T* outRow, int* argRow)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = g.InWidth, kwSize = g.KernelWidth, sw = g.StrideW;
        int xa0 = xa * sw - g.PadW, xb0 = xb * sw - g.PadW; // first input column of each block's first window
        int lanes = Vector256<T>.Count;
        if (!PickStride2Load(xa0, kwSize, w, sw, lanes, out bool oddA) || !PickStride2Load(xb0, kwSize, w, sw, lanes, out bool oddB))
            return false;

        var bestA = Vector256.Create(T.NegativeInfinity);
        var bestB = bestA;
        var offsetA = Vector256.Create(T.CreateTruncating(khLo * w)); // winner's kh*W + kw
        var offsetB = offsetA;
        var one = Vector256<T>.One;
        for (int kh = khLo; kh < khHi; kh++)
        {
            T* row = plane + (long)(ihStart + kh) * w;
            var candidate = Vector256.Create(T.CreateTruncating(kh * w)); // kh*W + k, stepped by adding one
            for (int k = 0; k < kwSize; k++, candidate += one)
            {
                Vector256<T> a = LoadWindowColumn(row + xa0 + k, sw, oddA);
                Vector256<T> b = LoadWindowColumn(row + xb0 + k, sw, oddB);
                // Strictly greater keeps the first of equal values; NaN always takes over.
                Vector256<T> takeA = Vector256.GreaterThan(a, bestA) | Vector256.IsNaN(a);
                Vector256<T> takeB = Vector256.GreaterThan(b, bestB) | Vector256.IsNaN(b);
                bestA = Select(takeA, a, bestA);
                bestB = Select(takeB, b, bestB);
                offsetA = Select(takeA, candidate, offsetA);
                offsetB = Select(takeB, candidate, offsetB);
            }
        }
        bestA.Store(outRow + xa);
        StoreIndices(offsetA, ihStart * w + xa0, sw, argRow + xa);
        bestB.Store(outRow + xb);
        StoreIndices(offsetB, ihStart * w + xb0, sw, argRow + xb);
        return true;
    }

    /// <summary>
    /// For stride 2, two vectors give 2*lanes consecutive elements of which every other one is
    /// kept. Reading from the window column itself touches one element past the last window; if
    /// that leaves the row, read from one element earlier and keep the odd elements instead
    /// (<paramref name="odd"/>). False when neither fits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool PickStride2Load(int x0, int kwSize, int w, int sw, int lanes, out bool odd)
    {
        odd = sw == 2 && x0 + kwSize - 1 + 2 * lanes - 1 >= w;
        return !odd || x0 >= 1;
    }

    /// <summary>p[0], p[sw], ..., for sw 1 or 2 (see <see cref="PickStride2Load"/> for <paramref name="odd"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> LoadWindowColumn<T>(T* p, int sw, bool odd) where T : unmanaged
        => sw == 1 ? Vector256.Load(p) : odd ? LoadOddLanes(p - 1) : LoadEvenLanes(p);

    /// <summary>
    /// mask ? a : b per lane, for masks made by a comparison (all-ones or all-zeros lanes). On x86
    /// that is one blend instruction instead of the three (and, and-not, or) of ConditionalSelect.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Select<T>(Vector256<T> mask, Vector256<T> a, Vector256<T> b) where T : unmanaged
    {
        if (Avx.IsSupported && typeof(T) == typeof(float))
            return Avx.BlendVariable(b.AsSingle(), a.AsSingle(), mask.AsSingle()).As<float, T>();
        if (Avx.IsSupported && typeof(T) == typeof(double))
            return Avx.BlendVariable(b.AsDouble(), a.AsDouble(), mask.AsDouble()).As<double, T>();
        return Vector256.ConditionalSelect(mask, a, b);
    }

    /// <summary>dst[j] = first + j*step + (int)offset[j] for every lane j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreIndices<T>(Vector256<T> offset, int first, int step, int* dst) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            (Vector256.ConvertToInt32(offset.AsSingle()) + Vector256.Create(first) + Vector256<int>.Indices * step).Store(dst);
        }
        else
        {
            Vector256<long> wide = Vector256.ConvertToInt64(offset.AsDouble());
            (Vector128.Narrow(wide.GetLower(), wide.GetUpper()) + Vector128.Create(first) + Vector128<int>.Indices * step).Store(dst);
        }
    }

    /// <summary>Elements p[0], p[2], ..., p[2*lanes-2] (reads p[0 .. 2*lanes-1]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> LoadEvenLanes<T>(T* p) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            // Within each 128-bit half: a0 a2 b0 b2 | a4 a6 b4 b6; then put the 64-bit pairs in order.
            Vector256<float> a = Avx.LoadVector256((float*)p), b = Avx.LoadVector256((float*)p + 8);
            return Avx2.Permute4x64(Avx.Shuffle(a, b, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).As<double, T>();
        }
        else
        {
            Vector256<double> a = Avx.LoadVector256((double*)p), b = Avx.LoadVector256((double*)p + 4);
            return Avx2.Permute4x64(Avx.UnpackLow(a, b), 0b11_01_10_00).As<double, T>(); // a0 b0 a2 b2 -> a0 a2 b0 b2
        }
    }

    /// <summary>Elements p[1], p[3], ..., p[2*lanes-1] (reads p[0 .. 2*lanes-1]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> LoadOddLanes<T>(T* p) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            Vector256<float> a = Avx.LoadVector256((float*)p), b = Avx.LoadVector256((float*)p + 8);
            return Avx2.Permute4x64(Avx.Shuffle(a, b, 0b11_01_11_01).AsDouble(), 0b11_01_10_00).As<double, T>();
        }
        else
        {
            Vector256<double> a = Avx.LoadVector256((double*)p), b = Avx.LoadVector256((double*)p + 4);
            return Avx2.Permute4x64(Avx.UnpackHigh(a, b), 0b11_01_10_00).As<double, T>();
        }
    }

    /// <summary>Ceiling of a / b for b &gt; 0 and any sign of a.</summary>
    private static int CeilDiv(int a, int b) => a >= 0 ? (a + b - 1) / b : -(-a / b);
}
