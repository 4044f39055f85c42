using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

// 3x3 stride-1 convolutions by Winograd's minimal filtering, F(2x2, 3x3): the forward pass, the
// input gradient (the same kind of convolution, of the output gradient) and the weight gradient.
// docs/kernels/winograd.md explains the algorithm.
public static unsafe partial class Conv2d
{
    /// <summary>
    /// Winograd is taken while its products cost at most this share of im2col's: 16 multiplications
    /// per 2x2 output tile against 9 per output pixel. The transforms in and out cost about a third
    /// of the time, so a smaller saving is none. Measured on Zen 4 against im2col: at 0.72 (the
    /// input gradient of a 32 -> 64 layer on 13x13) level or slower, at 0.67 (the same on 15x15)
    /// 7-15% faster, at 0.53 (the forward pass on 13x13) 15-25% faster.
    /// </summary>
    private const double WinogradMaxCost = 0.7;

    /// <summary>
    /// Fewer tiles than this across a plane leave most lanes of the transforms' vectors (8 tiles
    /// of floats) idle. Against im2col, 64 -> 64 channels on Zen 4: a 2x2 output (1 tile across)
    /// took 1.7-1.9x as long forward and 1.3-1.9x for the weight gradient; a 4x4 output (2 across)
    /// was 8% faster forward and 18-25% faster for the weight gradient.
    /// </summary>
    private const int WinogradMinTilesAcross = 2;

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
        Winograd(g.Batch, new WinogradShape(g.InChannels, g.InHeight, g.InWidth, g.PadH, g.PadW, g.OutChannels, g.OutHeight, g.OutWidth),
            input, u, bias, output);
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
        Winograd(g.Batch, new WinogradShape(g.OutChannels, g.OutHeight, g.OutWidth, 2 - g.PadH, 2 - g.PadW, g.InChannels, g.InHeight, g.InWidth),
            gradOutput, u, null, gradInput);
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
    /// One Winograd pass's sizes: images of InC planes H x W, padded by PadT above and PadL to the
    /// left (and by zeros as far as the tiles reach below and to the right), convolved into OutC
    /// planes of OutH x OutW, which 2x2 output tiles cover.
    /// </summary>
    private readonly record struct WinogradShape(int InC, int H, int W, int PadT, int PadL, int OutC, int OutH, int OutW)
    {
        public int TilesH => (OutH + 1) / 2;
        public int TilesW => (OutW + 1) / 2;
        public int Tiles => TilesH * TilesW;
        public long InImage => (long)InC * H * W;
        public long OutImage => (long)OutC * OutH * OutW;
    }

    /// <summary>
    /// One task's tiles: its images' tiles side by side in rows of <see cref="Ld"/> (whole strips
    /// of the GEMM kernel, the padding zero), 16 rows per channel, one per position ξ of the 4x4
    /// tile. V holds the input channels' rows and M the output channels'; a channel's block is a
    /// cache line longer than 16 rows, which keeps the GEMM for one ξ, which steps through every
    /// 16th row, out of a single L1 cache set. Split and Padded (SplitRows rows each) are <see cref="SplitColumns{T}"/>'s.
    /// </summary>
    private readonly struct WinogradTask<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public readonly int Ld, Half, SplitRows;
        public readonly long Row;   // elements from one channel's 16 rows to the next's
        public readonly T* V, M, Split, Padded;

        public WinogradTask(in WinogradShape s, int images)
        {
            int vc = Vector256<T>.Count;
            Ld = TaskRowLength<T>(images * s.Tiles);
            // Half a split row covers the tile columns in whole vectors, plus the column past them that a tile reads.
            Half = (s.TilesW + vc - 1) / vc * vc + vc;
            Row = 16L * Ld + 64 / sizeof(T);
            int splitRows = 2 * s.TilesH + 2;
            V = ThreadScratch.Work<T>((s.InC + s.OutC) * Row + 2L * splitRows * 2 * Half + vc);
            M = V + s.InC * Row;
            Split = M + s.OutC * Row;
            Padded = Split + (long)splitRows * 2 * Half;
            SplitRows = splitRows;
        }
    }

    /// <summary>
    /// A stride-1 3x3 convolution of [batch, InC, H, W] into [batch, OutC, OutH, OutW] with the
    /// transformed filters u (<see cref="TransformWeights{T}"/>), plus bias when not null. A few
    /// whole images per task, on one thread: transform their 4x4 input tiles into V, multiply
    /// M[ξ] = U[ξ] V[ξ] (16 GEMMs of OutC x InC by InC x tiles), transform each 4x4 of M back
    /// into its 2x2 output tile.
    /// </summary>
    private static void Winograd<T>(int batch, WinogradShape s, T* input, T* u, T* bias, T* output)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int images = WinogradImagesPerTask<T>(batch, s.InC + s.OutC, s.Tiles);
        CpuParallel.For((batch + images - 1) / images, t =>
        {
            int first = t * images, count = Math.Min(images, batch - first);
            var task = new WinogradTask<T>(s, count);
            TransformTiles(s, task, input + first * s.InImage, count, gradient: false);
            for (int xi = 0; xi < 16; xi++)
                Gemm.RunOnThisThread(false, false, s.OutC, task.Ld, s.InC, T.One, u + xi * (long)s.OutC * s.InC, s.InC,
                    task.V + xi * task.Ld, (int)task.Row, T.Zero, task.M + xi * task.Ld, (int)task.Row);
            for (int oc = 0; oc < s.OutC; oc++)
                for (int i = 0; i < count; i++)
                    TransformOutputTiles(task.M + oc * task.Row + i * s.Tiles, task.Ld, s.TilesH, s.TilesW, bias == null ? T.Zero : bias[oc],
                        output + (first + i) * s.OutImage + (long)oc * s.OutH * s.OutW, s.OutH, s.OutW);
        }, workPerItem: 32L * s.InC * s.OutC * s.Tiles * images);
    }

    /// <summary>
    /// Weight gradient by Winograd. The forward pass is Y = Aᵀ [U ⊙ V] A per tile, so
    /// d U = Σ over tiles of (A dY Aᵀ) ⊙ V, and d g = Gᵀ d U G: the 16 sums over tiles are GEMMs
    /// of OutC x tiles by tiles x InC, whose inner dimension spans a task's images. Each thread
    /// takes an equal share of the images (a fixed range), sums its tasks' products in task order
    /// into its own partial sums, and the shares' sums are added in order, so the result is the
    /// same on every run with the same <see cref="CpuParallel.Threads"/>.
    /// </summary>
    private static void BackwardWeightWinograd<T>(in Conv2dGeometry g, T* input, T* gradOutput, T* gradWeight)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = new WinogradShape(g.InChannels, g.InHeight, g.InWidth, g.PadH, g.PadW, g.OutChannels, g.OutHeight, g.OutWidth);
        int batch = g.Batch, images = WinogradImagesPerTask<T>(batch, s.InC + s.OutC, s.Tiles);
        long matrix = (long)s.OutC * s.InC;
        // One partial sum per thread's share, not per task: 16 x OutC x InC elements a task grew
        // with the batch (a gigabyte for 512 channels and 64 images). The shares split the images
        // rather than the tasks: 11 tasks of 6 images over 2 threads left one thread a whole task
        // more to do (CIFAR's conv2, 64 images).
        int shares = Math.Min(batch, CpuParallel.Threads);
        T* partial = ThreadScratch.Shared<T>(shares * 16 * matrix);   // [share][ξ][oc][c]
        CpuParallel.For(shares, part =>
        {
            int from = (int)((long)part * batch / shares), to = (int)((long)(part + 1) * batch / shares);
            for (int first = from; first < to; first += images)   // in order, each task added to the share's sum
            {
                int count = Math.Min(images, to - first);
                var task = new WinogradTask<T>(s, count);
                TransformTiles(s, task, input + first * s.InImage, count, gradient: false);
                TransformTiles(s, task, gradOutput + first * s.OutImage, count, gradient: true);
                for (int xi = 0; xi < 16; xi++)   // d U[ξ] = (A dY Aᵀ)[ξ] V[ξ]ᵀ
                    Gemm.RunOnThisThread(false, true, s.OutC, s.InC, task.Ld, T.One, task.M + xi * task.Ld, (int)task.Row,
                        task.V + xi * task.Ld, (int)task.Row, first == from ? T.Zero : T.One, partial + (part * 16L + xi) * matrix, s.InC);
            }
        }, workPerItem: 32L * s.InC * s.OutC * s.Tiles * ((batch + shares - 1) / shares));

        // Sum the shares' d U into the first share's, in order, then d g = Gᵀ d U G with
        // Gᵀ = [1 ½ ½ 0; 0 ½ -½ 0; 0 ½ ½ 1].
        CpuParallel.For(16, xi =>
        {
            T* sum = partial + xi * matrix;
            for (int part = 1; part < shares; part++) AddTo(partial + (part * 16L + xi) * matrix, sum, (int)matrix);
        }, workPerItem: shares * matrix);
        CpuParallel.For(s.OutC, oc =>
        {
            T half = T.CreateTruncating(0.5);
            T* rows = stackalloc T[12];   // Gᵀ d U, 3 x 4
            for (int c = 0; c < s.InC; c++)
            {
                T* du = partial + (long)oc * s.InC + c;   // d U[ξ] lies at du[ξ * matrix]
                for (int b = 0; b < 4; b++)
                {
                    T d0 = du[b * matrix], d1 = du[(4 + b) * matrix], d2 = du[(8 + b) * matrix], d3 = du[(12 + b) * matrix];
                    rows[b] = d0 + (d1 + d2) * half;
                    rows[4 + b] = (d1 - d2) * half;
                    rows[8 + b] = (d1 + d2) * half + d3;
                }
                T* dw = gradWeight + ((long)oc * s.InC + c) * 9;
                for (int r = 0; r < 3; r++)
                {
                    T d0 = rows[4 * r], d1 = rows[4 * r + 1], d2 = rows[4 * r + 2], d3 = rows[4 * r + 3];
                    dw[3 * r] = d0 + (d1 + d2) * half;
                    dw[3 * r + 1] = (d1 - d2) * half;
                    dw[3 * r + 2] = (d1 + d2) * half + d3;
                }
            }
        }, workPerItem: 64L * s.InC);
    }

    /// <summary>
    /// Transforms the tiles of a task's <paramref name="count"/> images, starting at
    /// <paramref name="images"/>, every channel: the 4x4 input tiles into V (Bᵀ d B), or with
    /// <paramref name="gradient"/> the 2x2 output-gradient tiles into M (A dY Aᵀ). The padding
    /// columns of each row are zeroed: the GEMMs multiply them.
    /// </summary>
    private static void TransformTiles<T>(in WinogradShape s, in WinogradTask<T> task, T* images, int count, bool gradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int channels = gradient ? s.OutC : s.InC, h = gradient ? s.OutH : s.H, w = gradient ? s.OutW : s.W;
        int used = count * s.Tiles;
        long image = (long)channels * h * w;
        T* dst = gradient ? task.M : task.V;
        Zero(task.Padded, task.SplitRows * 2 * task.Half);   // the planes' borders, for every plane of this size
        for (int c = 0; c < channels; c++)
        {
            for (int i = 0; i < count; i++)
            {
                T* plane = images + i * image + (long)c * h * w;
                T* at = dst + c * task.Row + i * s.Tiles;
                // A vector of tiles may spill into the tiles after it, which are written later,
                // but stops at the task's last tile: past it lie the next row's first tiles (a
                // row of whole strips has no padding), written already. A spill can cross more
                // than a tile row, even an image, where a row is fewer than half a vector.
                int tilesLeft = (count - i) * s.Tiles;
                if (gradient)
                {
                    SplitColumns(plane, h, w, 0, 0, 2 * s.TilesH, task.Half, task.Split, task.Padded);
                    TransformGradientTiles(task.Split, task.Half, s.TilesH, s.TilesW, at, task.Ld, tilesLeft);
                }
                else
                {
                    SplitColumns(plane, h, w, s.PadT, s.PadL, 2 * s.TilesH + 2, task.Half, task.Split, task.Padded);
                    TransformInputTiles(task.Split, task.Half, s.TilesH, s.TilesW, at, task.Ld, tilesLeft);
                }
            }
            ZeroPadding(dst + c * task.Row, 16, used, task.Ld);
        }
    }

    /// <summary>
    /// Images per task: at most an even share of the batch and what <see cref="WinogradTaskBytes"/>
    /// holds, and among those the count whose tiles fill the GEMM's whole-strip rows best (a row
    /// of 36 tiles is padded to 64 columns; 8 such images fill 288 exactly), the largest where
    /// several fill about as well: longer GEMMs spread their fixed costs (the 15x15 input gradient,
    /// 64 tiles an image, went from tasks of 1 image, level with im2col, to 5, 7-15% faster than it).
    /// </summary>
    private static int WinogradImagesPerTask<T>(int batch, int channels, int tiles) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int most = Math.Clamp(WinogradTaskBytes / sizeof(T) / (16 * channels * tiles), 1, (batch + CpuParallel.Threads - 1) / CpuParallel.Threads);
        int best = 1;
        double bestFill = 0;
        for (int images = 1; images <= most; images++)
        {
            double fill = (double)images * tiles / TaskRowLength<T>(images * tiles);
            if (fill >= bestFill - 0.01) (best, bestFill) = (images, Math.Max(fill, bestFill));
        }
        return best;
    }
}
