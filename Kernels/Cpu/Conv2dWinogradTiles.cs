using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Tensorium.Kernels.Cpu;

// Winograd F(2x2, 3x3)'s tile transforms (see Conv2dWinograd.cs), each on a vector of tiles along
// a tile row at a time: a plane is first split into its even and odd columns, so the tiles'
// columns are plain vector loads.
public static unsafe partial class Conv2d
{
    /// <summary>
    /// Copies one plane, padded with zeros, into rows of its even and odd columns: padded row r
    /// (plane row r - padT) becomes e[j] = x[2j - padL] and o[j] = x[2j + 1 - padL], o lying
    /// <paramref name="half"/> after e. Tile (ty, tx) then reads columns tx and tx + 1 of its
    /// rows, so a vector of consecutive tiles is a plain load. The rows are first copied into
    /// <paramref name="padded"/> (rows of 2 * half, zero around the plane: the caller zeroes it
    /// once for planes of one size), all of them before any is split: a vector load that spans
    /// two recent unaligned stores waits for them to reach the cache, and copying and splitting
    /// each row in turn made the split cost as much as the transform.
    /// </summary>
    private static void SplitColumns<T>(T* plane, int h, int w, int padT, int padL, int rows, int half, T* split, T* padded)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int row = 0; row < h; row++)
            CopyRow(plane + (long)row * w, padded + (long)(row + padT) * 2 * half + padL, w);
        for (int r = 0; r < rows; r++)
        {
            T* e = split + (long)r * 2 * half;
            Deinterleave(padded + (long)r * 2 * half, half, e, e + half);
        }
    }

    /// <summary>e[k] = p[2k] and o[k] = p[2k + 1] for k &lt; half, a whole number of vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Deinterleave<T>(T* p, int half, T* e, T* o) where T : unmanaged
    {
        const byte InOrder = 0b11_01_10_00;   // 64-bit lanes 0, 2, 1, 3: the two 128-bit halves' results side by side
        for (int k = 0; k < half; k += Vector256<T>.Count)
        {
            Vector256<T> a = Vector256.Load(p + 2 * k), b = Vector256.Load(p + 2 * k + Vector256<T>.Count);
            Vector256<double> even, odd;
            if (typeof(T) == typeof(float))
            {
                // Within each 128-bit half: a's two even (odd) elements, then b's.
                even = Avx.Shuffle(a.AsSingle(), b.AsSingle(), 0b10_00_10_00).AsDouble();
                odd = Avx.Shuffle(a.AsSingle(), b.AsSingle(), 0b11_01_11_01).AsDouble();
            }
            else
            {
                even = Avx.UnpackLow(a.AsDouble(), b.AsDouble());
                odd = Avx.UnpackHigh(a.AsDouble(), b.AsDouble());
            }
            Avx2.Permute4x64(even, InOrder).As<double, T>().Store(e + k);
            Avx2.Permute4x64(odd, InOrder).As<double, T>().Store(o + k);
        }
    }

    /// <summary>
    /// V = Bᵀ d B for every 4x4 input tile d of one plane, a vector of tiles along a tile row at a
    /// time, into v[ξ * xiStride + tile]. Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. No store
    /// reaches <paramref name="tilesLeft"/> tiles past v.
    /// </summary>
    private static void TransformInputTiles<T>(T* split, int half, int tilesH, int tilesW, T* v, long xiStride, int tilesLeft)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int vc = Vector256<T>.Count;
        long x = xiStride;
        for (int ty = 0; ty < tilesH; ty++)
            for (int tx = 0; tx < tilesW; tx += vc)
            {
                // d B of the tile's four rows (a, b, c, d), then Bᵀ combines the rows.
                T* row = split + (long)(2 * ty) * 2 * half + tx;
                RowTimesB(row, half, out var a0, out var a1, out var a2, out var a3);
                RowTimesB(row + 2 * half, half, out var b0, out var b1, out var b2, out var b3);
                RowTimesB(row + 4 * half, half, out var c0, out var c1, out var c2, out var c3);
                RowTimesB(row + 6 * half, half, out var d0, out var d1, out var d2, out var d3);
                int lanes = Math.Min(vc, tilesLeft - ty * tilesW - tx);
                T* at = v + ty * tilesW + tx;
                Put(at, a0 - c0, lanes); Put(at + x, a1 - c1, lanes); Put(at + 2 * x, a2 - c2, lanes); Put(at + 3 * x, a3 - c3, lanes);
                Put(at + 4 * x, b0 + c0, lanes); Put(at + 5 * x, b1 + c1, lanes); Put(at + 6 * x, b2 + c2, lanes); Put(at + 7 * x, b3 + c3, lanes);
                Put(at + 8 * x, c0 - b0, lanes); Put(at + 9 * x, c1 - b1, lanes); Put(at + 10 * x, c2 - b2, lanes); Put(at + 11 * x, c3 - b3, lanes);
                Put(at + 12 * x, b0 - d0, lanes); Put(at + 13 * x, b1 - d1, lanes); Put(at + 14 * x, b2 - d2, lanes); Put(at + 15 * x, b3 - d3, lanes);
            }
    }

    /// <summary>
    /// A dY Aᵀ for every 2x2 output-gradient tile of one plane (the weight gradient's other
    /// operand), into dst[ξ * xiStride + tile]. A = [1 0; 1 1; 1 -1; 0 -1]: a tile's rows y0, y1
    /// become y0, y0 + y1, y0 - y1, -y1, and the same is done to its columns. No store reaches
    /// <paramref name="tilesLeft"/> tiles past dst.
    /// </summary>
    private static void TransformGradientTiles<T>(T* split, int half, int tilesH, int tilesW, T* dst, long xiStride, int tilesLeft)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int vc = Vector256<T>.Count;
        long x = xiStride;
        for (int ty = 0; ty < tilesH; ty++)
            for (int tx = 0; tx < tilesW; tx += vc)
            {
                T* row0 = split + (long)(2 * ty) * 2 * half + tx, row1 = row0 + 2 * half;
                Vector256<T> a0 = Vector256.Load(row0), b0 = Vector256.Load(row0 + half), a1 = Vector256.Load(row1), b1 = Vector256.Load(row1 + half);
                int lanes = Math.Min(vc, tilesLeft - ty * tilesW - tx);
                T* at = dst + ty * tilesW + tx;
                PutTimesAt(at, x, lanes, a0, b0);
                PutTimesAt(at + 4 * x, x, lanes, a0 + a1, b0 + b1);
                PutTimesAt(at + 8 * x, x, lanes, a0 - a1, b0 - b1);
                PutTimesAt(at + 12 * x, x, lanes, -a1, -b1);
            }
    }

    /// <summary>Stores a row (left, right) of A dY times Aᵀ: left, left + right, left - right, -right, xiStride apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutTimesAt<T>(T* at, long xiStride, int lanes, Vector256<T> left, Vector256<T> right)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Put(at, left, lanes);
        Put(at + xiStride, left + right, lanes);
        Put(at + 2 * xiStride, left - right, lanes);
        Put(at + 3 * xiStride, -right, lanes);
    }

    /// <summary>One row of a vector of tiles times B: its columns are e, o, e + 1, o + 1 of the split row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowTimesB<T>(T* e, int half, out Vector256<T> t0, out Vector256<T> t1, out Vector256<T> t2, out Vector256<T> t3)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector256<T> e0 = Vector256.Load(e), e1 = Vector256.Load(e + 1), o0 = Vector256.Load(e + half), o1 = Vector256.Load(e + half + 1);
        t0 = e0 - e1;
        t1 = o0 + e1;
        t2 = e1 - o0;
        t3 = o0 - o1;
    }

    /// <summary>
    /// Y = Aᵀ M A + bias for every tile of one output plane, M read from m[ξ * xiStride + tile],
    /// Aᵀ = [1 1 1 0; 0 1 -1 -1]: each 2x2 tile written to its place in the plane. A vector of
    /// tiles writes two vectors of a row; what goes past the row lands in later rows of the same
    /// plane, which are written after it (so a tile row's second output row waits for its first),
    /// and nothing goes past the plane.
    /// </summary>
    private static void TransformOutputTiles<T>(T* m, long xiStride, int tilesH, int tilesW, T bias, T* y, int outH, int outW)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int vc = Vector256<T>.Count, vectors = (tilesW + vc - 1) / vc;
        long x = xiStride;
        T* end = y + (long)outH * outW;
        var b = Vector256.Create(bias);
        var secondRow = stackalloc Vector256<T>[2 * vectors];
        for (int ty = 0; ty < tilesH; ty++)
        {
            T* first = y + (long)2 * ty * outW;
            for (int v = 0; v < vectors; v++)
            {
                // Aᵀ M: the two rows (top, bottom) of each column of M, then the same for their columns.
                T* at = m + ty * tilesW + v * vc;
                TransposedATimes(at, x, out var top0, out var bottom0);
                TransposedATimes(at + x, x, out var top1, out var bottom1);
                TransposedATimes(at + 2 * x, x, out var top2, out var bottom2);
                TransposedATimes(at + 3 * x, x, out var top3, out var bottom3);
                (Vector256<T> low, Vector256<T> high) = Interleave(top0 + top1 + top2 + b, top1 - top2 - top3 + b);
                Put(first + 2 * v * vc, low, high, end);
                (secondRow[2 * v], secondRow[2 * v + 1]) = Interleave(bottom0 + bottom1 + bottom2 + b, bottom1 - bottom2 - bottom3 + b);
            }
            if (2 * ty + 1 < outH)
                for (int v = 0; v < vectors; v++)
                    Put(first + outW + 2 * v * vc, secondRow[2 * v], secondRow[2 * v + 1], end);
        }
    }

    /// <summary>Aᵀ times one column of a vector of tiles' M (its four rows xiStride * 4 apart): (m0 + m1 + m2, m1 - m2 - m3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransposedATimes<T>(T* at, long xiStride, out Vector256<T> top, out Vector256<T> bottom)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector256<T> m0 = Vector256.Load(at), m1 = Vector256.Load(at + 4 * xiStride),
            m2 = Vector256.Load(at + 8 * xiStride), m3 = Vector256.Load(at + 12 * xiStride);
        top = m0 + m1 + m2;
        bottom = m1 - m2 - m3;
    }

    /// <summary>Stores two vectors one after the other, as much of them as lies before <paramref name="end"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(T* at, Vector256<T> low, Vector256<T> high, T* end) where T : unmanaged
    {
        int vc = Vector256<T>.Count;
        if (end - at >= 2 * vc)
        {
            low.Store(at);
            high.Store(at + vc);
        }
        else
            PutClipped(at, low, high, (int)(end - at));
    }

    /// <summary>The first <paramref name="count"/> elements of two vectors one after the other: the end of a plane.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void PutClipped<T>(T* at, Vector256<T> low, Vector256<T> high, int count) where T : unmanaged
    {
        int vc = Vector256<T>.Count;
        Put(at, low, Math.Min(vc, count));
        Put(at + vc, high, count - vc);
    }

    /// <summary>Stores the first <paramref name="lanes"/> elements of a vector (all of it when lanes is the width; nothing when 0 or less).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(T* at, Vector256<T> value, int lanes) where T : unmanaged
    {
        if (lanes >= Vector256<T>.Count) value.Store(at);
        else
            for (int i = 0; i < lanes; i++) at[i] = value.GetElement(i);
    }

    /// <summary>(e0 o0 e1 o1 ...): the elements of two vectors alternating, as two vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<T> Low, Vector256<T> High) Interleave<T>(Vector256<T> even, Vector256<T> odd) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            Vector256<float> e = even.AsSingle(), o = odd.AsSingle();
            Vector256<float> low = Avx.UnpackLow(e, o), high = Avx.UnpackHigh(e, o);   // within each 128-bit half
            return (Avx.Permute2x128(low, high, 0x20).As<float, T>(), Avx.Permute2x128(low, high, 0x31).As<float, T>());
        }
        else
        {
            Vector256<double> e = even.AsDouble(), o = odd.AsDouble();
            Vector256<double> low = Avx.UnpackLow(e, o), high = Avx.UnpackHigh(e, o);
            return (Avx.Permute2x128(low, high, 0x20).As<double, T>(), Avx.Permute2x128(low, high, 0x31).As<double, T>());
        }
    }
}
