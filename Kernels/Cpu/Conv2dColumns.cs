using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using static Tensorium.Kernels.Cpu.Fused;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

// Conv2d's im2col and col2im: an image unfolded into the columns a GEMM multiplies by the
// weights (one row per filter tap, one column per output pixel, 0 in the padding), and such
// columns added back into an image for the input gradient, with the row copies they use.
public static unsafe partial class Conv2d
{
    /// <summary>
    /// Writes columns [p0, p0 + cols) of one image's im2col matrix into <paramref name="col"/>
    /// ([ColumnRows, cols], row-major, rows <paramref name="ld"/> elements apart). Row r = (c*KH + kh)*KW + kw holds, for every output pixel
    /// (oh, ow), the input value that filter tap (c, kh, kw) multiplies, or 0 where that falls in
    /// the padding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Im2Col<T>(in Conv2dGeometry g, T* image, T* col, int p0, int cols, int ld)
        where T : unmanaged, INumber<T>
    {
        if (IsPlainWholeImage(g, p0, cols))
        {
            Im2ColPlain(g, image, col, ld);
            return;
        }
        for (int tap = 0; tap < g.ColumnRows; tap++)
            Im2ColRow(g, image, tap, p0, cols, col + (long)tap * ld);
    }

    /// <summary>
    /// Writes entries [q0, q0 + count) of row <paramref name="tap"/> of the im2col matrix of
    /// images laid side by side (image n's columns start at n * OutPlane; the images are NCHW from
    /// <paramref name="images"/>): the value filter tap (c, kh, kw) multiplies at each output
    /// pixel, or 0 in the padding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Im2ColRow<T>(in Conv2dGeometry g, T* images, int tap, int q0, int count, T* dst)
        where T : unmanaged, INumber<T>
    {
        int h = g.InHeight, w = g.InWidth, oh = g.OutHeight, ow = g.OutWidth, sw = g.StrideW, taps = g.KernelHeight * g.KernelWidth;
        int c = tap / taps, kh = tap % taps / g.KernelWidth, kw = tap % g.KernelWidth;
        int iwOffset = kw * g.DilationW - g.PadW; // input column of output column 0
        ValidColumns(iwOffset, sw, w, ow, out int validLo, out int validHi);
        int image = q0 / g.OutPlane, pixel = q0 - image * g.OutPlane;
        int y = pixel / ow, x0 = pixel - y * ow;
        T* plane = images + image * g.InImage + (long)c * h * w + iwOffset;
        T* seg = dst - x0; // seg[x] is the value for output column x of output row y
        // One output row (or the part of it in range) at a time; a run may start or end mid-row
        // and cross from one image into the next.
        for (int left = count; left > 0; left -= ow - x0, seg += ow, x0 = 0)
        {
            int x1 = Math.Min(ow, x0 + left);
            int ih = y * g.StrideH - g.PadH + kh * g.DilationH;
            int lo = Math.Max(x0, validLo), hi = Math.Min(x1, validHi);
            if ((uint)ih >= (uint)h || lo >= hi)
            {
                Zero(seg + x0, x1 - x0); // row of padding
            }
            else
            {
                Zero(seg + x0, lo - x0);
                T* src = plane + (long)ih * w;
                if (sw == 1)
                    CopyRow(src + lo, seg + lo, hi - lo);
                else
                    for (int x = lo; x < hi; x++) seg[x] = src[x * sw];
                Zero(seg + hi, x1 - hi);
            }
            if (++y == oh) { y = 0; plane += g.InImage; }
        }
    }

    /// <summary>Where each of taps [tap0, + count) reads, from an output pixel's corner in the input (unpadded images).</summary>
    private static void TapOffsets(in Conv2dGeometry g, int tap0, int count, long* offset)
    {
        int taps = g.KernelHeight * g.KernelWidth;
        for (int r = 0; r < count; r++)
        {
            int tap = tap0 + r, c = tap / taps, kh = tap % taps / g.KernelWidth, kw = tap % g.KernelWidth;
            offset[r] = ((long)c * g.InHeight + (long)kh * g.DilationH) * g.InWidth + kw * g.DilationW;
        }
    }

    /// <summary>
    /// Entry <paramref name="q0"/> of the side-by-side im2col columns (images one after another):
    /// its output row <paramref name="y"/> and column <paramref name="x0"/>, and the offset of that
    /// output row's corner in the input images.
    /// </summary>
    private static long PlainStart(in Conv2dGeometry g, int q0, out int y, out int x0)
    {
        int image = q0 / g.OutPlane, pixel = q0 - image * g.OutPlane;
        y = pixel / g.OutWidth;
        x0 = pixel - y * g.OutWidth;
        return image * g.InImage + y * (long)g.StrideH * g.InWidth;
    }

    /// <summary>
    /// Rows [<paramref name="tap0"/>, + <paramref name="count"/>) of the side-by-side im2col matrix
    /// (see <see cref="Im2ColRow{T}"/>), entries [q0, q0 + kc), into <paramref name="rows"/> (rows
    /// kc apart), for an unpadded, horizontal-stride-1 convolution: each output row segment is
    /// located once and copied for every tap, which matters for small images, where a segment is
    /// only a few elements (4 for a 6x6 image and a 3x3 filter).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    private static void Im2ColPlainRows<T>(in Conv2dGeometry g, T* images, int tap0, int count, int q0, int kc, T* rows)
        where T : unmanaged, INumber<T>
    {
        int ow = g.OutWidth, oh = g.OutHeight;
        long* offset = stackalloc long[count];
        TapOffsets(g, tap0, count, offset);
        long rowStep = (long)g.StrideH * g.InWidth, nextImage = g.InImage - oh * rowStep;
        T* src = images + PlainStart(g, q0, out int y, out int x0);
        T* seg = rows - x0;
        for (int left = kc; left > 0; left -= ow - x0, seg += ow, src += rowStep, x0 = 0)
        {
            int length = Math.Min(ow, x0 + left) - x0;
            for (int r = 0; r < count; r++)
                CopyRow(src + offset[r] + x0, seg + (long)r * kc + x0, length);
            if (++y == oh) { y = 0; src += nextImage; }
        }
    }

    /// <summary>
    /// Im2col rows [<paramref name="tap0"/>, + 6) of entries [q0, q0 + kc), as
    /// <see cref="Im2ColPlainRows{T}"/> gathers them, written straight as one packed 6-row strip of
    /// the GEMM (dst[6 * q + r]) instead of into rows that the GEMM's packing then interleaves:
    /// 8 pixels of an output row at a time, the 6 taps' input runs loaded and transposed in
    /// registers. The last 8 of a segment overlap the ones before (rewriting the same values);
    /// segments shorter than 8 (images under 10 pixels wide for a 3x3 filter) go value by value.
    /// That second pass over a row buffer took 6% of the CNN's conv2 weight gradient, the
    /// gather into it 14%.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    private static void Im2ColPlainStrip(in Conv2dGeometry g, float* images, int tap0, int q0, int kc, float* dst)
    {
        const int mr = 6;
        int ow = g.OutWidth, oh = g.OutHeight;
        long* offset = stackalloc long[mr];
        TapOffsets(g, tap0, mr, offset);
        long rowStep = (long)g.StrideH * g.InWidth, nextImage = g.InImage - oh * rowStep;
        float* src = images + PlainStart(g, q0, out int y, out int x0);
        for (int left = kc; left > 0; src += rowStep, x0 = 0)
        {
            int length = Math.Min(ow - x0, left);
            float* s = src + x0;
            if (length >= 8)
                for (int x = 0; ; x += 8)
                {
                    int at = Math.Min(x, length - 8);
                    GemmCore<float>.Pack6x8(s + offset[0] + at, s + offset[1] + at, s + offset[2] + at,
                        s + offset[3] + at, s + offset[4] + at, s + offset[5] + at, dst + mr * at);
                    if (at == length - 8) break;
                }
            else
                for (int x = 0; x < length; x++)
                    for (int r = 0; r < mr; r++) dst[mr * x + r] = s[offset[r] + x];
            dst += mr * length;
            left -= length;
            if (++y == oh) { y = 0; src += nextImage; }
        }
    }

    /// <summary>
    /// The im2col matrix of a run of images side by side ([ColumnRows, images * OutPlane]) as a
    /// GEMM's left operand, gathered from the images one packed block at a time and never stored
    /// whole: writing out the whole matrix (a few MB for a batch) and packing it back in cost the
    /// weight gradient as much as its arithmetic.
    /// </summary>
    private readonly struct ImageColumns<T>(Conv2dGeometry g, T* images) : IPackedA<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc />
        [SkipLocalsInit] // the row buffer is written before it is read; no need to zero it per call
        public void Pack(int i0, int mc, int p0, int kc, T* dst)
        {
            // One strip's rows at a time into a small buffer that stays in L1, then interleaved
            // into the strip by the GEMM's own packing.
            const int mr = GemmCore<T>.MR;
            T* rows = stackalloc T[mr * kc];
            bool plain = g.PadH == 0 && g.PadW == 0 && g.StrideW == 1;
            for (int s = 0; s < mc; s += mr, dst += (long)mr * kc)
            {
                int count = Math.Min(mr, mc - s);
                if (plain && count == mr && typeof(T) == typeof(float) && Avx.IsSupported)
                {
                    Im2ColPlainStrip(g, (float*)images, i0 + s, p0, kc, (float*)dst);
                    continue;
                }
                if (plain)
                    Im2ColPlainRows(g, images, i0 + s, count, p0, kc, rows);
                else
                    for (int r = 0; r < count; r++)
                        Im2ColRow(g, images, i0 + s + r, p0, kc, rows + r * kc);
                GemmCore<T>.PackA(false, rows, kc, 0, count, 0, kc, dst);
            }
        }
    }

    /// <summary>
    /// The reverse of <see cref="Im2Col{T}"/>: adds every entry of columns [p0, p0 + cols) of a
    /// column-gradient matrix onto the input pixel it was copied from; padding entries are dropped.
    /// Overlapping filter windows make several entries land on one pixel, hence "add".
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Col2ImAdd<T>(in Conv2dGeometry g, T* col, T* image, int p0, int cols, int ld)
        where T : unmanaged, INumber<T>
    {
        if (IsPlainWholeImage(g, p0, cols))
        {
            Col2ImAddPlain(g, col, image, ld);
            return;
        }
        int h = g.InHeight, w = g.InWidth, ow = g.OutWidth, sw = g.StrideW;
        T* srcRow = col;
        for (int c = 0; c < g.InChannels; c++)
        {
            T* plane = image + (long)c * h * w;
            for (int kh = 0; kh < g.KernelHeight; kh++)
                for (int kw = 0; kw < g.KernelWidth; kw++)
                {
                    int iwOffset = kw * g.DilationW - g.PadW;
                    ValidColumns(iwOffset, sw, w, ow, out int validLo, out int validHi);
                    int pos = p0, end = p0 + cols;
                    while (pos < end)
                    {
                        int oh = pos / ow, owStart = pos - oh * ow, owEnd = Math.Min(ow, owStart + (end - pos));
                        T* seg = srcRow + (pos - p0) - owStart;
                        int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                        int lo = Math.Max(owStart, validLo), hi = Math.Min(owEnd, validHi);
                        if ((uint)ih < (uint)h && lo < hi)
                        {
                            T* dst = plane + (long)ih * w + iwOffset;
                            if (sw == 1)
                                AddTo(seg + lo, dst + lo, hi - lo);
                            else
                                for (int x = lo; x < hi; x++) dst[x * sw] += seg[x];
                        }
                        pos += owEnd - owStart;
                    }
                    srcRow += ld;
                }
        }
    }

    /// <summary>
    /// True for the common case the plain loops below handle: a whole image, no padding and
    /// horizontal stride 1, so every tap reads a full, contiguous input segment per output row.
    /// </summary>
    private static bool IsPlainWholeImage(in Conv2dGeometry g, int p0, int cols)
        => p0 == 0 && cols == g.OutPlane && g.PadH == 0 && g.PadW == 0 && g.StrideW == 1;

    /// <summary>
    /// <see cref="Im2Col{T}"/> for an unpadded, horizontal-stride-1 whole image. Small images give
    /// short rows (11 elements for 13x13 with a 3x3 filter) and hundreds of thousands of them per
    /// batch, so the general path's per-row bookkeeping (a division, the padding bounds) cost as
    /// much as the copying; here a row is one or two vector copies.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Im2ColPlain<T>(in Conv2dGeometry g, T* image, T* col, int ld) where T : unmanaged, INumber<T>
    {
        int w = g.InWidth, ow = g.OutWidth, oh = g.OutHeight;
        long rowStep = (long)g.StrideH * w;
        T* dst = col;
        for (int c = 0; c < g.InChannels; c++)
        {
            T* plane = image + (long)c * g.InHeight * w;
            for (int kh = 0; kh < g.KernelHeight; kh++)
                for (int kw = 0; kw < g.KernelWidth; kw++, dst += ld)
                {
                    T* src = plane + (long)kh * g.DilationH * w + kw * g.DilationW;
                    T* d = dst;
                    for (int y = 0; y < oh; y++, src += rowStep, d += ow)
                        CopyRow(src, d, ow);
                }
        }
    }

    /// <summary>The reverse of <see cref="Im2ColPlain{T}"/>, adding each column entry onto its pixel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Col2ImAddPlain<T>(in Conv2dGeometry g, T* col, T* image, int ld) where T : unmanaged, INumber<T>
    {
        int w = g.InWidth, ow = g.OutWidth, oh = g.OutHeight;
        long rowStep = (long)g.StrideH * w;
        T* src = col;
        for (int c = 0; c < g.InChannels; c++)
        {
            T* plane = image + (long)c * g.InHeight * w;
            for (int kh = 0; kh < g.KernelHeight; kh++)
                for (int kw = 0; kw < g.KernelWidth; kw++, src += ld)
                {
                    T* dst = plane + (long)kh * g.DilationH * w + kw * g.DilationW;
                    T* s = src;
                    for (int y = 0; y < oh; y++, dst += rowStep, s += ow)
                        AddTo(s, dst, ow);
                }
        }
    }

    /// <summary>
    /// Copies a short row. When it is at least one vector long, the last vector is stored at
    /// count - lanes, overlapping the previous one, instead of finishing element by element
    /// (rewriting a few elements with the same values is harmless for a copy). A row shorter than
    /// a 256-bit vector (4 floats for a 6x6 image and a 3x3 filter) takes one or two overlapping
    /// 128-bit vectors the same way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow<T>(T* src, T* dst, int count) where T : unmanaged, INumber<T>
    {
        int lanes = Vector256<T>.Count;
        if (!Vector256.IsHardwareAccelerated || count < Vector128<T>.Count)
        {
            for (int i = 0; i < count; i++) dst[i] = src[i];
            return;
        }
        if (count < lanes)
        {
            Vector128.Load(src).Store(dst);
            Vector128.Load(src + count - Vector128<T>.Count).Store(dst + count - Vector128<T>.Count);
            return;
        }
        int j = 0;
        for (; j < count - lanes; j += lanes) Vector256.Load(src + j).Store(dst + j);
        Vector256.Load(src + count - lanes).Store(dst + count - lanes);
    }

    // Row segments in im2col/col2im are often short (a 13x13 image gives 11-element rows), so
    // these inline loops beat a library call whose fixed cost would dominate.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy<T>(T* src, T* dst, int count) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= count - Vector256<T>.Count; i += Vector256<T>.Count) Vector256.Load(src + i).Store(dst + i);
        for (; i < count; i++) dst[i] = src[i];
    }

    /// <summary>
    /// dst += src. What is left after the 256-bit vectors takes one 128-bit vector when it can
    /// (short rows, such as the 4 floats of a 6x6 image's col2im, are the common case), then
    /// single elements: unlike a copy, an add cannot overlap.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo<T>(T* src, T* dst, int count) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= count - Vector256<T>.Count; i += Vector256<T>.Count) (Vector256.Load(dst + i) + Vector256.Load(src + i)).Store(dst + i);
            if (i <= count - Vector128<T>.Count)
            {
                (Vector128.Load(dst + i) + Vector128.Load(src + i)).Store(dst + i);
                i += Vector128<T>.Count;
            }
        }
        for (; i < count; i++) dst[i] += src[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Zero<T>(T* dst, int count) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= count - Vector256<T>.Count; i += Vector256<T>.Count) Vector256<T>.Zero.Store(dst + i);
        for (; i < count; i++) dst[i] = T.Zero;
    }

    /// <summary>
    /// Output columns [lo, hi) whose input column <c>x*stride + offset</c> lies inside [0, width);
    /// the others read padding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ValidColumns(int offset, int stride, int width, int outWidth, out int lo, out int hi)
    {
        lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        int last = width - 1 - offset; // largest x*stride allowed
        hi = last < 0 ? 0 : Math.Min(outWidth, last / stride + 1);
    }
}
