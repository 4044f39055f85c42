using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using static Tensorium.Kernels.Cpu.Fused;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// 2-D convolution (groups = 1) and its two backward passes on the CPU, by im2col + GEMM.
/// Layouts: input and output NCHW, weight [OutC, InC, KH, KW], bias [OutC]. Every output
/// buffer is overwritten, never accumulated into.
/// </summary>
/// <remarks>
/// <para>
/// The idea: for one image, copy every input patch a filter looks at into a column of a matrix
/// ("im2col", shape [InC*KH*KW, OH*OW]). The convolution is then a single matrix product
/// output[OutC, OH*OW] = weight[OutC, InC*KH*KW] * col, which the fast GEMM does well.
/// The backward passes are the two other products of the same three matrices:
/// d col = weightᵀ * d output (then "col2im" adds each column back onto the pixels it came from),
/// and d weight = d output * colᵀ summed over images.
/// </para>
/// <para>
/// Small images (the usual CNN case) are processed a group at a time: the group's im2col
/// matrices are built in parallel, one image per thread (so col2im's scatter-add never crosses
/// threads). When an output plane has few pixels (121 for 13x13, 9 for 5x5) the group's
/// matrices are laid side by side and ONE wide GEMM does the whole group, because per-image
/// products that narrow run far below the GEMM's peak; its channel-major result is then reordered
/// to NCHW. Larger planes get one GEMM per image, written in place. A first layer with few filter
/// taps (1 channel, 3x3) skips the GEMM in the forward and weight-gradient passes for direct
/// loops, since an inner or outer dimension of 9 is a shape the GEMM handles poorly. An image too
/// large for the scratch budget is processed alone, its matrix built a slab of columns at a time,
/// with the threads working inside the GEMM. Scratch comes from a per-thread buffer that is
/// reused across calls.
/// </para>
/// </remarks>
public static unsafe partial class Conv2d
{
    /// <summary>
    /// Output planes smaller than this many pixels go through one wide GEMM per group of images
    /// (per-image GEMMs would be too narrow); larger ones take one GEMM per image, which is
    /// already wide and needs no reordering of its result.
    /// </summary>
    private const int WideBelowPixels = 256;

    /// <summary>
    /// Output planes of at most this many pixels take the wide forward GEMM transposed (see
    /// <see cref="ForwardCore{T}"/>).
    /// </summary>
    private const int TransposedMaxPixels = 64;

    /// <summary>Scratch budget for one im2col slab, in elements (1 MiB of float, 2 MiB of double).</summary>
    private const int SlabElements = 1 << 18;

    /// <summary>
    /// Scratch budget for the wide matrices of a group of small images, in elements (8 MiB of
    /// float): half an MNIST-sized batch of conv 32->64 on 13x13 fits (already a GEMM thousands of
    /// columns wide, so larger groups gain nothing), and the buffer is kept per thread, so not more.
    /// </summary>
    private const long GroupElements = 1 << 21;

    /// <summary>
    /// Forward pass: output = conv(input, weight) + bias. <paramref name="bias"/> may be null.
    /// T is float or double.
    /// </summary>
    public static void Forward<T>(in Conv2dGeometry g, T* input, T* weight, T* bias, T* output)
        where T : unmanaged, IFloatingPointIeee754<T>
        => ForwardCore(g, input, weight, bias, output);

    /// <summary>Gradient with respect to the input: gradInput = convᵀ(gradOutput, weight). Overwrites gradInput.</summary>
    public static void BackwardInput<T>(in Conv2dGeometry g, T* gradOutput, T* weight, T* gradInput)
        where T : unmanaged, IFloatingPointIeee754<T>
        => BackwardInputCore(g, gradOutput, weight, gradInput);

    /// <summary>
    /// Gradients with respect to the weight and (when <paramref name="gradBias"/> is not null) the bias,
    /// summed over the batch. Both are overwritten. The sum over images is done in a fixed order,
    /// so the result is the same on every run with the same <see cref="CpuParallel.Threads"/>.
    /// </summary>
    public static void BackwardWeight<T>(in Conv2dGeometry g, T* input, T* gradOutput, T* gradWeight, T* gradBias)
        where T : unmanaged, IFloatingPointIeee754<T>
        => BackwardWeightCore(g, input, gradOutput, gradWeight, gradBias);

    // ---------------------------------------------------------------- the three passes
    //
    // Regimes, chosen by the shape (see the class remarks):
    //  * few filter taps (forward, weight gradient): direct loops, parallel over images.
    //  * small images: build the matrices of a group of images at once, one image per thread,
    //    then hand the whole group to one wide GEMM (small planes) or one batched GEMM (larger
    //    planes), which spreads the work over the threads itself. Parallelising only at one level
    //    avoids nested thread pools fighting over the same cores.
    //  * an image too big for the scratch budget: one image at a time, its matrix built in slabs
    //    of columns, and the parallelism comes from inside each (large) GEMM.

    private static void ForwardCore<T>(Conv2dGeometry g, T* input, T* weight, T* bias, T* output)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels;
        long inImage = g.InImage, outImage = g.OutImage, colImage = (long)k * p;

        if (g.IsPointwise)
        {
            // A 1x1 stride-1 filter reads each pixel once: the image [InC, H*W] already is "col".
            MatMulBatched(g.Batch, false, false, outC, p, k, weight, k, 0, input, p, inImage, y: output, ldc: p, strideC: outImage);
        }
        else if (k <= FewTapsMax && colImage <= GroupElements && p >= Vector256<T>.Count && Vector256.IsHardwareAccelerated)
        {
            // Few taps (a first layer): a GEMM with an inner dimension of 9 spends more on packing
            // and on storing its output than on arithmetic, so compute each image directly.
            CpuParallel.For(g.Batch, n =>
            {
                T* col = ThreadScratch.Work<T>(colImage); // this worker thread's own buffer
                Im2Col(g, input + n * inImage, col, 0, p, p);
                ForwardFewTaps(col, k, p, weight, bias, outC, output + n * outImage);
            }, outImage * k);
            return; // bias already added
        }
        else if (p < WideBelowPixels && colImage + outImage <= GroupElements)
        {
            // The group's im2col matrices side by side, col[K, count*P], make ONE wide GEMM
            // wide[OutC, count*P] = weight * col. A per-image product has only P columns (121 for
            // a 13x13 image, 16 for 4x4), too few for the GEMM's 16-column tiles to run at speed;
            // the wide one runs near peak. Its result is channel-major across images, so a cheap
            // reorder (with the bias add fused in) writes NCHW.
            // Tiny planes compute it transposed instead, wideᵀ[count*P, OutC] = colᵀ * weightᵀ,
            // then reorder with a transpose: a GEMM of OutC rows and only ~1000 columns runs
            // below one of ~1000 rows and OutC columns, and the transposing reorder of such small
            // planes is cheap (fastest of several noisy runs on 2 cores, 64 images, 64 -> 64
            // channels: 4x4 outputs 1.01 vs 1.04 ms, 3x3 outputs 0.47 vs 0.56 ms). For 13x13
            // (64 x 5408 x 288) both GEMMs run alike and the larger planes' transposing reorder
            // made the forward 30% slower.
            bool transposed = p <= TransposedMaxPixels;
            int group = GroupSize(g.Batch, colImage + outImage);
            for (int n0 = 0; n0 < g.Batch; n0 += group)
            {
                int count = Math.Min(group, g.Batch - n0), width = count * p;
                T* col = ThreadScratch.Work<T>(((long)k + outC) * width);
                T* wide = col + (long)k * width;
                T* x = input + n0 * inImage;
                CpuParallel.For(count, i => Im2Col(g, x + i * inImage, col + i * p, 0, p, width), colImage);
                T* y = output + n0 * outImage;
                if (transposed)
                {
                    MatMul(true, true, width, outC, k, col, width, weight, k, false, wide, outC);
                    CpuParallel.For(count, i => UnpackImageTransposed(wide + (long)i * p * outC, y + i * outImage, p, outC, bias), outImage);
                }
                else
                {
                    MatMul(false, false, outC, width, k, weight, k, col, width, false, wide, width);
                    CpuParallel.For(count, i => UnpackImage(wide + i * p, width, y + i * outImage, p, outC, bias), outImage);
                }
            }
            return; // bias already added
        }
        else if (colImage <= GroupElements)
        {
            // Images of many pixels: each image's own GEMM is already wide, so write it straight
            // into the output, sparing the wide path's reorder.
            int group = GroupSize(g.Batch, colImage);
            for (int n0 = 0; n0 < g.Batch; n0 += group)
            {
                int count = Math.Min(group, g.Batch - n0);
                T* col = ThreadScratch.Work<T>(count * colImage);
                T* x = input + n0 * inImage;
                CpuParallel.For(count, i => Im2Col(g, x + i * inImage, col + i * colImage, 0, p, p), colImage);
                MatMulBatched(count, false, false, outC, p, k, weight, k, 0, col, p, colImage, y: output + n0 * outImage, ldc: p, strideC: outImage);
            }
        }
        else
        {
            int slab = SlabColumns(k, p);
            T* col = ThreadScratch.Work<T>((long)k * slab);
            for (int n = 0; n < g.Batch; n++)
                for (int p0 = 0; p0 < p; p0 += slab)
                {
                    int cols = Math.Min(slab, p - p0);
                    Im2Col(g, input + n * inImage, col, p0, cols, cols);
                    // Columns p0..p0+cols of this image's output: ldc = p skips the other columns.
                    MatMul(false, false, outC, cols, k, weight, k, col, cols, false, output + n * outImage + p0, p);
                }
        }

        if (bias != null)
            CpuParallel.For(g.Batch, n =>
            {
                for (int oc = 0; oc < outC; oc++)
                {
                    T* plane = output + n * outImage + (long)oc * p;
                    T value = bias[oc];
                    int i = 0;
                    if (Vector256.IsHardwareAccelerated)
                        for (var v = Vector256.Create(value); i <= p - Vector256<T>.Count; i += Vector256<T>.Count)
                            (Vector256.Load(plane + i) + v).Store(plane + i);
                    for (; i < p; i++) plane[i] += value;
                }
            }, outImage);
    }

    private static void BackwardInputCore<T>(Conv2dGeometry g, T* gradOutput, T* weight, T* gradInput)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels;
        int inImage = g.InChannels * g.InHeight * g.InWidth;
        long outImage = (long)outC * p, colImage = (long)k * p;

        if (g.IsPointwise)
        {
            // dx[InC, H*W] = weightᵀ[InC, OutC] * dy[OutC, H*W], written directly.
            MatMulBatched(g.Batch, true, false, k, p, outC, weight, k, 0, gradOutput, p, outImage, y: gradInput, ldc: p, strideC: inImage);
        }
        else if (p < WideBelowPixels && colImage + outImage <= GroupElements)
        {
            // As in the forward pass, one wide GEMM for the whole group: lay the group's output
            // gradients side by side, dyWide[OutC, count*P], then d col[K, count*P] = weightᵀ * dyWide,
            // then col2im each image's block of columns (one image per thread, so no two threads
            // ever add onto the same pixel).
            int group = GroupSize(g.Batch, colImage + outImage);
            for (int n0 = 0; n0 < g.Batch; n0 += group)
            {
                int count = Math.Min(group, g.Batch - n0), width = count * p;
                T* col = ThreadScratch.Work<T>(((long)k + outC) * width);
                T* dyWide = col + (long)k * width;
                T* dy = gradOutput + n0 * outImage;
                CpuParallel.For(count, i => PackImage(dy + i * outImage, p, outC, dyWide + i * p, width), outImage);
                MatMul(true, false, k, width, outC, weight, k, dyWide, width, false, col, width);
                T* dx = gradInput + (long)n0 * inImage;
                CpuParallel.For(count, i =>
                {
                    // col2im adds, and stride/padding may leave pixels no filter touched: start from zero.
                    new Span<T>(dx + (long)i * inImage, inImage).Clear();
                    Col2ImAdd(g, col + i * p, dx + (long)i * inImage, 0, p, width);
                }, colImage);
            }
        }
        else if (colImage <= GroupElements)
        {
            // Images of many pixels: per-image GEMMs are wide enough, and read dy where it lies.
            int group = GroupSize(g.Batch, colImage);
            for (int n0 = 0; n0 < g.Batch; n0 += group)
            {
                int count = Math.Min(group, g.Batch - n0);
                T* col = ThreadScratch.Work<T>(count * colImage);
                // d col[K, P] = weightᵀ[K, OutC] * dy[OutC, P] for every image of the group
                MatMulBatched(count, true, false, k, p, outC, weight, k, 0, gradOutput + n0 * outImage, p, outImage, y: col, ldc: p, strideC: colImage);
                T* dx = gradInput + (long)n0 * inImage;
                CpuParallel.For(count, i =>
                {
                    new Span<T>(dx + (long)i * inImage, inImage).Clear();
                    Col2ImAdd(g, col + i * colImage, dx + (long)i * inImage, 0, p, p);
                }, colImage);
            }
        }
        else
        {
            int slab = SlabColumns(k, p);
            T* col = ThreadScratch.Work<T>((long)k * slab);
            for (int n = 0; n < g.Batch; n++)
            {
                T* dx = gradInput + (long)n * inImage;
                new Span<T>(dx, inImage).Clear();
                for (int p0 = 0; p0 < p; p0 += slab)
                {
                    int cols = Math.Min(slab, p - p0);
                    MatMul(true, false, k, cols, outC, weight, k, gradOutput + n * outImage + p0, p, false, col, cols);
                    Col2ImAdd(g, col, dx, p0, cols, cols);
                }
            }
        }
    }

    private static void BackwardWeightCore<T>(Conv2dGeometry g, T* input, T* gradOutput, T* gradWeight, T* gradBias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels, batch = g.Batch;
        long inImage = g.InImage, outImage = g.OutImage;
        long perImage = (long)k * p + outImage; // this image's columns of col and of dy

        long chunkElements = (long)k * p + (long)outC * k; // one chunk's im2col matrix and partial sum
        if (k <= FewTapsMax && chunkElements <= GroupElements)
        {
            BackwardWeightFewTaps(g, input, gradOutput, gradWeight, chunkElements);
        }
        // d weight[OutC, K] = sum over images of dy[OutC, P] * colᵀ[P, K]. Laying a group of images
        // side by side, col as [K, group*P] and dy as [OutC, group*P], turns that sum into the
        // inner dimension of ONE GEMM: no per-thread partial sums, and the GEMM's fixed summation
        // order makes the result deterministic. Groups accumulate in order.
        // The GEMM computes the transpose, d weightᵀ[K, OutC] = col * dyᵀ, into scratch: both
        // products read their long rows the same way, but the GEMM runs the transposed B of OutC
        // rows faster than one of K rows (288 for a 32-channel 3x3 filter): 15-35% faster in our
        // timings of the CNN's shapes (64 x 288 and 64 x 576, inner 3872 and 576). The small
        // transpose into gradWeight at the end is noise next to it.
        else if (perImage <= GroupElements)
        {
            int group = GroupSize(batch, perImage);
            long groupWidth = (long)group * p;
            T* col = ThreadScratch.Work<T>(((long)k + outC) * groupWidth + (long)k * outC);
            T* gradWeightT = col + ((long)k + outC) * groupWidth; // [K, OutC]
            bool accumulate = false;
            for (int n0 = 0; n0 < batch; n0 += group)
            {
                int count = Math.Min(group, batch - n0);
                int width = count * p; // columns of the side-by-side matrices
                T* dyWide = col + (long)k * width;
                CpuParallel.For(count, i =>
                {
                    int n = n0 + i;
                    if (g.IsPointwise)
                        for (int r = 0; r < k; r++) // 1x1: col rows are the input channels
                            new ReadOnlySpan<T>(input + n * inImage + (long)r * p, p).CopyTo(new Span<T>(col + (long)r * width + i * p, p));
                    else
                        Im2Col(g, input + n * inImage, col + i * p, 0, p, width);
                    PackImage(gradOutput + n * outImage, p, outC, dyWide + i * p, width);
                }, perImage);
                MatMul(false, true, k, outC, width, col, width, dyWide, width, accumulate, gradWeightT, outC);
                accumulate = true;
            }
            for (int oc = 0; oc < outC; oc++)
                for (int r = 0; r < k; r++)
                    gradWeight[(long)oc * k + r] = gradWeightT[(long)r * outC + oc];
        }
        else
        {
            int slab = SlabColumns(k, p);
            T* col = ThreadScratch.Work<T>((long)k * slab);
            bool accumulate = false;
            for (int n = 0; n < batch; n++)
                for (int p0 = 0; p0 < p; p0 += slab)
                {
                    int cols = Math.Min(slab, p - p0);
                    Im2Col(g, input + n * inImage, col, p0, cols, cols);
                    // dw[OutC, K] += dy[OutC, p0..p0+cols] * colᵀ[cols, K]
                    MatMul(false, true, outC, k, cols, gradOutput + n * outImage + p0, p, col, cols, accumulate, gradWeight, k);
                    accumulate = true;
                }
        }

        if (gradBias != null)
        {
            // d bias[oc] = sum over images and pixels of d output[n, oc]; one channel per task.
            CpuParallel.For(outC, oc =>
            {
                T sum = T.Zero;
                for (int n = 0; n < batch; n++)
                    sum += TensorPrimitives.Sum(new ReadOnlySpan<T>(gradOutput + n * outImage + (long)oc * p, p));
                gradBias[oc] = sum;
            }, workPerItem: (long)batch * p);
        }
    }

    // ---------------------------------------------------------------- wide-matrix helpers

    /// <summary>
    /// Images per group when each needs <paramref name="perImage"/> scratch elements: as many as
    /// the budget allows, then evened out (64 images in groups of 49 would leave a lopsided 15).
    /// </summary>
    private static int GroupSize(int batch, long perImage)
    {
        int most = (int)Math.Clamp(GroupElements / perImage, 1, batch);
        int groups = (batch + most - 1) / most;
        return (batch + groups - 1) / groups;
    }

    /// <summary>
    /// Copies one image's [channels, P] block into its columns of a wide [channels, ld] matrix
    /// (the image's first column at <paramref name="wide"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackImage<T>(T* image, int p, int channels, T* wide, int ld) where T : unmanaged, INumber<T>
    {
        for (int c = 0; c < channels; c++)
            Copy(image + (long)c * p, wide + (long)c * ld, p);
    }

    /// <summary>
    /// One image's block of a pixel-major wide result ([p, channels], rows channels apart) written
    /// as its NCHW planes, adding bias[c] to channel c on the way (bias may be null):
    /// image[c, j] = wideT[j, c] + bias[c]. Reads stride through a block of p * channels values,
    /// small enough (4K for 64 channels of 4x4) to stay in the L1 cache; writes are contiguous.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UnpackImageTransposed<T>(T* wideT, T* image, int p, int channels, T* bias) where T : unmanaged, INumber<T>
    {
        for (int c = 0; c < channels; c++)
        {
            T* src = wideT + c, dst = image + (long)c * p;
            T value = bias == null ? T.Zero : bias[c];
            for (int j = 0; j < p; j++) dst[j] = src[(long)j * channels] + value;
        }
    }

    /// <summary>
    /// The reverse of <see cref="PackImage{T}"/>, adding bias[c] to channel c on the way (bias
    /// may be null): image[c, j] = wide[c, j] + bias[c].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UnpackImage<T>(T* wide, int ld, T* image, int p, int channels, T* bias) where T : unmanaged, INumber<T>
    {
        for (int c = 0; c < channels; c++)
        {
            T* src = wide + (long)c * ld, dst = image + (long)c * p;
            if (bias == null) { Copy(src, dst, p); continue; }
            T value = bias[c];
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
                for (var v = Vector256.Create(value); i <= p - Vector256<T>.Count; i += Vector256<T>.Count)
                    (Vector256.Load(src + i) + v).Store(dst + i);
            for (; i < p; i++) dst[i] = src[i] + value;
        }
    }

    /// <summary>
    /// How many im2col columns to build at once: all of them when they fit the scratch budget,
    /// otherwise a slab sized to the budget, but never so thin that the GEMM loses its efficiency.
    /// </summary>
    private static int SlabColumns(int rows, int columns)
        => Math.Clamp(SlabElements / rows, Math.Min(columns, 256), columns);

    /// <summary>
    /// For each of <paramref name="batch"/> matrices: y_i = op(A_i) * op(B_i), overwritten. A stride
    /// of 0 shares one matrix (the weight) across the batch. The GEMM decides whether to spread
    /// the batch or the inside of each product over the threads.
    /// </summary>
    private static void MatMulBatched<T>(int batch, bool transA, bool transB, int m, int n, int k,
        T* a, int lda, long strideA, T* b, int ldb, long strideB, T* y, int ldc, long strideC)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Gemm.RunBatched(batch, transA, transB, m, n, k, T.One, a, lda, strideA, b, ldb, strideB, T.Zero, y, ldc, strideC);

    /// <summary>C = op(A) * op(B) (+ C when <paramref name="accumulate"/>).</summary>
    private static void MatMul<T>(bool transA, bool transB, int m, int n, int k, T* a, int lda, T* b, int ldb,
        bool accumulate, T* c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
        => Gemm.Run(transA, transB, m, n, k, T.One, a, lda, b, ldb, accumulate ? T.One : T.Zero, c, ldc);
}
