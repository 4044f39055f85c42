using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

// 3x3 stride-1 convolutions by Winograd's minimal filtering, F(2x2, 3x3): the forward pass and
// the input gradient, which is the same kind of convolution of the output gradient.
public static unsafe partial class Conv2d
{
    /// <summary>
    /// Winograd is taken while its products cost at most this share of im2col's: 16 multiplications
    /// per 2x2 output tile against 9 per output pixel. The transforms in and out cost about a third
    /// of the time, so a smaller saving is none: at 0.72 (the input gradient of a 32 -> 64 layer on
    /// 13x13), Winograd measured 5-10% slower than im2col, at 0.53 (its forward pass) 20% faster.
    /// </summary>
    private const double WinogradMaxCost = 0.6;

    /// <summary>
    /// Fewer tiles than this across a plane leave most lanes of the transforms' vectors (8 tiles
    /// of floats) idle: a 4x4 output (2 tiles across) measured 25% slower than im2col, a 6x6 one
    /// (3 across) 40% faster.
    /// </summary>
    private const int WinogradMinTilesAcross = 3;

    /// <summary>
    /// Fewer channels than this on either side leave the 16 products too thin (an inner dimension
    /// of 3 for an RGB layer) for the transforms to pay off; the im2col paths handle those.
    /// </summary>
    private const int WinogradMinChannels = 8;

    /// <summary>
    /// Budget for one task's transformed tiles (both sides), in bytes. More than the L2 cache
    /// holds, yet faster: the images per task then fill the GEMM's rows of whole 32-column strips
    /// better (8 images of 36 tiles fill 288 exactly). On Zen 4 a 32 -> 64 layer on 13x13 took 1709
    /// µs with 2 MiB, 2089 µs with 512 KiB (2 images a task, rows of 96 for 72 tiles).
    /// </summary>
    private const int WinogradTaskBytes = 2 << 20;

    /// <summary>Take Winograd where it applies: a field so a benchmark can time the im2col paths on the same shapes.</summary>
    internal static bool UseWinograd = Avx2.IsSupported;

    /// <summary>
    /// Whether a pass takes Winograd: a 3x3 filter, stride and dilation 1, padding of at most 2
    /// (the input gradient pads its own input by 2 - padding), channels enough on both sides, an
    /// image for every thread, and tiles that fit the plane well enough to do fewer multiplications
    /// than im2col (<see cref="WinogradMaxCost"/>). The tiles cover the pass's output: the
    /// convolution's output for the forward pass, its input for the input gradient.
    /// </summary>
    internal static bool UsesWinograd<T>(in Conv2dGeometry g, bool inputGradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!UseWinograd || g.KernelHeight != 3 || g.KernelWidth != 3 || g.StrideH != 1 || g.StrideW != 1
            || g.DilationH != 1 || g.DilationW != 1 || g.PadH > 2 || g.PadW > 2
            || g.InChannels < WinogradMinChannels || g.OutChannels < WinogradMinChannels || g.Batch < CpuParallel.Threads)
            return false;
        int height = inputGradient ? g.InHeight : g.OutHeight, width = inputGradient ? g.InWidth : g.OutWidth;
        long tiles = (long)((height + 1) / 2) * ((width + 1) / 2);
        return (width + 1) / 2 >= WinogradMinTilesAcross && 16 * tiles <= WinogradMaxCost * 9 * g.OutPlane
            && 16L * (g.InChannels + g.OutChannels) * TaskRowLength<T>((int)tiles) <= GroupElements;
    }

    /// <summary>Forward pass by Winograd: output = conv(input, weight) + bias (bias may be null).</summary>
    private static void ForwardWinograd<T>(in Conv2dGeometry g, T* input, T* weight, T* bias, T* output)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* u = ThreadScratch.Shared<T>(16L * g.OutChannels * g.InChannels);
        TransformWeights(weight, g.OutChannels, g.InChannels, inputGradient: false, u);
        Winograd(g.Batch, g.InChannels, g.InHeight, g.InWidth, g.PadH, g.PadW, g.OutChannels, g.OutHeight, g.OutWidth, input, u, bias, output);
    }

    /// <summary>
    /// Input gradient by Winograd. d input is the convolution of d output, padded by 2 - padding,
    /// with each filter turned by 180 degrees and the channel roles swapped (d input[c] sums over
    /// the output channels), so it runs as a forward pass from OutC to InC channels.
    /// </summary>
    private static void BackwardInputWinograd<T>(in Conv2dGeometry g, T* gradOutput, T* weight, T* gradInput)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* u = ThreadScratch.Shared<T>(16L * g.OutChannels * g.InChannels);
        TransformWeights(weight, g.OutChannels, g.InChannels, inputGradient: true, u);
        Winograd(g.Batch, g.OutChannels, g.OutHeight, g.OutWidth, 2 - g.PadH, 2 - g.PadW, g.InChannels, g.InHeight, g.InWidth, gradOutput, u, null, gradInput);
    }

    /// <summary>
    /// U = G g Gᵀ for every 3x3 filter g, as 16 matrices, one per position ξ of the 4x4 tile:
    /// u[ξ][oc][c] for the forward pass, and for the input gradient u[ξ][c][oc] of the filter
    /// turned by 180 degrees. G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1].
    /// </summary>
    private static void TransformWeights<T>(T* weight, int outC, int inC, bool inputGradient, T* u)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long matrix = (long)outC * inC;
        CpuParallel.For(outC, oc =>
        {
            T half = T.CreateTruncating(0.5);
            T* f = stackalloc T[9];
            T* gg = stackalloc T[12];
            for (int c = 0; c < inC; c++)
            {
                T* w = weight + ((long)oc * inC + c) * 9;
                for (int i = 0; i < 9; i++) f[i] = inputGradient ? w[8 - i] : w[i];
                for (int s = 0; s < 3; s++)   // G g: combine the rows
                {
                    T g0 = f[s], g1 = f[3 + s], g2 = f[6 + s];
                    gg[s] = g0;
                    gg[3 + s] = (g0 + g1 + g2) * half;
                    gg[6 + s] = (g0 - g1 + g2) * half;
                    gg[9 + s] = g2;
                }
                long at = inputGradient ? (long)c * outC + oc : (long)oc * inC + c;
                for (int a = 0; a < 4; a++)   // (G g) Gᵀ: combine the columns
                {
                    T g0 = gg[3 * a], g1 = gg[3 * a + 1], g2 = gg[3 * a + 2];
                    u[(4 * a) * matrix + at] = g0;
                    u[(4 * a + 1) * matrix + at] = (g0 + g1 + g2) * half;
                    u[(4 * a + 2) * matrix + at] = (g0 - g1 + g2) * half;
                    u[(4 * a + 3) * matrix + at] = g2;
                }
            }
        }, workPerItem: 40L * inC);
    }

    /// <summary>
    /// A stride-1 3x3 convolution of [batch, inC, h, w] (padded by padT, padL) into [batch, outC,
    /// outH, outW] with the transformed filters u (<see cref="TransformWeights{T}"/>), plus bias
    /// when not null. A few whole images per task, on one thread: transform their 4x4 input tiles
    /// into V [16][inC][tiles], multiply M[ξ] = U[ξ] V[ξ] (16 GEMMs of OutC x InC by InC x tiles),
    /// transform each 4x4 of M back into its 2x2 output tile.
    /// </summary>
    private static void Winograd<T>(int batch, int inC, int h, int w, int padT, int padL, int outC, int outH, int outW,
        T* input, T* u, T* bias, T* output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int tilesH = (outH + 1) / 2, tilesW = (outW + 1) / 2, tiles = tilesH * tilesW;
        int images = WinogradImagesPerTask<T>(batch, inC + outC, tiles);
        long inImage = (long)inC * h * w, outImage = (long)outC * outH * outW;
        // One padded input plane split into even and odd columns: rows of 2 * half, half covering
        // the tile columns in whole vectors plus the one column past them that a tile reads.
        int vc = Vector256<T>.Count, half = (tilesW + vc - 1) / vc * vc + vc, splitRows = 2 * tilesH + 2;
        CpuParallel.For((batch + images - 1) / images, t =>
        {
            int first = t * images, count = Math.Min(images, batch - first), used = count * tiles, ld = TaskRowLength<T>(used);
            // V holds, for each input channel, its 16 rows (one per ξ) one after the other, and M
            // the same for each output channel: a transform then reads or writes one block, and
            // the GEMM for ξ steps through every 16th row. A cache line more than 16 rows per
            // channel keeps the GEMM's rows out of a single L1 cache set.
            long vRow = 16L * ld + 64 / sizeof(T), mRow = 16L * ld + 64 / sizeof(T);
            T* v = ThreadScratch.Work<T>(inC * vRow + outC * mRow + (long)(splitRows + 1) * 2 * half + vc);
            T* m = v + inC * vRow, split = m + outC * mRow, padded = split + (long)splitRows * 2 * half;
            for (int c = 0; c < inC; c++)
            {
                for (int i = 0; i < count; i++)
                {
                    SplitColumns(input + (first + i) * inImage + (long)c * h * w, h, w, padT, padL, splitRows, half, split, padded);
                    // The task's last tile row in each row of V stops at its last tile; the others
                    // may spill a vector into the tiles after them, which are written later.
                    TransformInputTiles(split, half, tilesH, tilesW, v + c * vRow + i * tiles, ld, exactEnd: i == count - 1);
                }
                ZeroPadding(v + c * vRow, 16, used, ld);
            }
            for (int xi = 0; xi < 16; xi++)
                Gemm.RunOnThisThread(false, false, outC, ld, inC, T.One, u + xi * (long)outC * inC, inC,
                    v + xi * ld, (int)vRow, T.Zero, m + xi * ld, (int)mRow);
            for (int oc = 0; oc < outC; oc++)
                for (int i = 0; i < count; i++)
                    TransformOutputTiles(m + oc * mRow + i * tiles, ld, tilesH, tilesW,
                        bias == null ? T.Zero : bias[oc], output + (first + i) * outImage + (long)oc * outH * outW, outH, outW);
        }, workPerItem: 32L * inC * outC * tiles * images);
    }

    /// <summary>
    /// Images per task: at most an even share of the batch and what <see cref="WinogradTaskBytes"/>
    /// holds, and among those the count whose tiles fill the GEMM's whole-strip rows best (a row
    /// of 36 tiles is padded to 64 columns; 8 such images fill 288 exactly).
    /// </summary>
    private static int WinogradImagesPerTask<T>(int batch, int channels, int tiles) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int most = Math.Clamp(WinogradTaskBytes / sizeof(T) / (16 * channels * tiles), 1, (batch + CpuParallel.Threads - 1) / CpuParallel.Threads);
        int best = 1;
        double bestFill = 0;
        for (int images = 1; images <= most; images++)
        {
            double fill = (double)images * tiles / TaskRowLength<T>(images * tiles);
            if (fill > bestFill + 0.01) (best, bestFill) = (images, fill);
        }
        return best;
    }

    /// <summary>
    /// Copies one input plane, padded with zeros, into rows of its even and odd columns: padded
    /// row r (input row r - padT) becomes e[j] = x[2j - padL] and o[j] = x[2j + 1 - padL], o
    /// lying <paramref name="half"/> after e. Tile (ty, tx) then reads columns tx and tx + 1 of
    /// rows 2ty to 2ty + 3, so a vector of consecutive tiles is a plain load. Each input row goes
    /// through <paramref name="padded"/> (2 * half elements), zero but for the row's own columns.
    /// </summary>
    private static void SplitColumns<T>(T* plane, int h, int w, int padT, int padL, int rows, int half, T* split, T* padded)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Zero(padded, 2 * half);
        for (int r = 0; r < rows; r++)
        {
            T* e = split + (long)r * 2 * half;
            int row = r - padT;
            if ((uint)row >= (uint)h)
            {
                Zero(e, 2 * half);
                continue;
            }
            CopyRow(plane + (long)row * w, padded + padL, w);
            Deinterleave(padded, half, e, e + half);
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
    /// time, into v[ξ * xiStride + tile]. Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
    /// </summary>
    private static void TransformInputTiles<T>(T* split, int half, int tilesH, int tilesW, T* v, long xiStride, bool exactEnd)
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
                int lanes = exactEnd && ty == tilesH - 1 ? Math.Min(vc, tilesW - tx) : vc;
                T* at = v + ty * tilesW + tx;
                Put(at, a0 - c0, lanes); Put(at + x, a1 - c1, lanes); Put(at + 2 * x, a2 - c2, lanes); Put(at + 3 * x, a3 - c3, lanes);
                Put(at + 4 * x, b0 + c0, lanes); Put(at + 5 * x, b1 + c1, lanes); Put(at + 6 * x, b2 + c2, lanes); Put(at + 7 * x, b3 + c3, lanes);
                Put(at + 8 * x, c0 - b0, lanes); Put(at + 9 * x, c1 - b1, lanes); Put(at + 10 * x, c2 - b2, lanes); Put(at + 11 * x, c3 - b3, lanes);
                Put(at + 12 * x, b0 - d0, lanes); Put(at + 13 * x, b1 - d1, lanes); Put(at + 14 * x, b2 - d2, lanes); Put(at + 15 * x, b3 - d3, lanes);
            }
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
        T* end = y + (long)outH * outW;
        var b = Vector256.Create(bias);
        var s = stackalloc Vector256<T>[8];   // Aᵀ M, by rows: s[4 * row + column]
        var secondRow = stackalloc Vector256<T>[2 * vectors];
        for (int ty = 0; ty < tilesH; ty++)
        {
            for (int v = 0; v < vectors; v++)
            {
                T* at = m + ty * tilesW + v * vc;
                for (int c = 0; c < 4; c++)
                {
                    Vector256<T> m0 = Vector256.Load(at + c * xiStride), m1 = Vector256.Load(at + (4 + c) * xiStride),
                        m2 = Vector256.Load(at + (8 + c) * xiStride), m3 = Vector256.Load(at + (12 + c) * xiStride);
                    s[c] = m0 + m1 + m2;
                    s[4 + c] = m1 - m2 - m3;
                }
                (Vector256<T> low, Vector256<T> high) = Interleave(s[0] + s[1] + s[2] + b, s[1] - s[2] - s[3] + b);
                Put(y + (long)2 * ty * outW + 2 * v * vc, low, high, end);
                (secondRow[2 * v], secondRow[2 * v + 1]) = Interleave(s[4] + s[5] + s[6] + b, s[5] - s[6] - s[7] + b);
            }
            if (2 * ty + 1 < outH)
                for (int v = 0; v < vectors; v++)
                    Put(y + (long)(2 * ty + 1) * outW + 2 * v * vc, secondRow[2 * v], secondRow[2 * v + 1], end);
        }
    }

    /// <summary>Stores two vectors one after the other, as much of them as lies before <paramref name="end"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(T* at, Vector256<T> low, Vector256<T> high, T* end) where T : unmanaged
    {
        int vc = Vector256<T>.Count;
        Put(at, low, (int)Math.Min(vc, end - at));
        Put(at + vc, high, (int)Math.Min(vc, end - at - vc));
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
