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
/// Small output planes (the usual CNN case: 121 pixels for 13x13, 16 for 4x4) are processed a
/// few whole images per task, each task on one thread: im2col into the thread's own cache-sized
/// matrix, one GEMM on that thread, then the result written out as NCHW (forward) or col2im'd
/// onto the task's own images (input gradient). The images sit side by side in the matrix, so
/// the product is wide enough for the GEMM's 16-column tiles even when one plane is not.
/// Larger planes build a group's matrices in parallel, one image per thread (so col2im's
/// scatter-add never crosses threads), then run a batched GEMM that spreads over the threads
/// itself. The weight gradient sums over images, so it lays a group of images side by side and
/// runs ONE GEMM whose inner dimension spans them; its im2col matrix is never written out: the
/// GEMM gathers each block of it from the images as it packs that block (an "implicit GEMM",
/// see GemmPackedA.cs). A first layer with few filter taps
/// (1 channel, 3x3) skips the GEMM in the forward and weight-gradient passes for direct loops,
/// since an inner or outer dimension of 9 is a shape the GEMM handles poorly. A 3x3 stride-1
/// filter with channels enough takes Winograd's minimal filtering instead of im2col where that
/// saves enough: 16 multiplications per 2x2 output tile, against 36 (Conv2dWinograd.cs). An
/// image too large for the scratch budget is processed alone, its matrix built a slab of columns
/// at a time, with the threads working inside the GEMM. Scratch comes from a per-thread buffer that is reused
/// across calls.
/// </para>
/// </remarks>
public static unsafe partial class Conv2d
{
    /// <summary>
    /// Output planes smaller than this many pixels are processed a few whole images per task (see
    /// Conv2dSmallPlanes.cs); larger ones take one GEMM per image, which is already wide and is written
    /// straight into the output.
    /// </summary>
    private const int WideBelowPixels = 256;

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
    {
        g.Validate();   // the ops check first; a direct caller with a bad geometry (a batch of 0) gets an error, not garbage
        ForwardCore(g, input, weight, bias, output);
    }

    /// <summary>Gradient with respect to the input: gradInput = convᵀ(gradOutput, weight). Overwrites gradInput.</summary>
    public static void BackwardInput<T>(in Conv2dGeometry g, T* gradOutput, T* weight, T* gradInput)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        g.Validate();
        BackwardInputCore(g, gradOutput, weight, gradInput);
    }

    /// <summary>
    /// Gradients with respect to the weight and (when <paramref name="gradBias"/> is not null) the bias,
    /// summed over the batch. Both are overwritten. The sum over images is done in a fixed order,
    /// so the result is the same on every run with the same <see cref="CpuParallel.Threads"/>.
    /// </summary>
    public static void BackwardWeight<T>(in Conv2dGeometry g, T* input, T* gradOutput, T* gradWeight, T* gradBias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        g.Validate();
        BackwardWeightCore(g, input, gradOutput, gradWeight, gradBias);
    }

    // ---------------------------------------------------------------- the three passes
    //
    // Regimes, chosen by the shape (see the class remarks):
    //  * 3x3 stride 1 with channels enough (all three passes): Winograd F(2x2, 3x3), where it
    //    saves enough multiplications (Conv2dWinograd.cs).
    //  * few filter taps (forward, weight gradient): direct loops, parallel over images.
    //  * small planes (forward, input gradient): a few whole images per task, im2col, GEMM and
    //    write-out all on the task's thread, in its cache.
    //  * other small images (forward, input gradient): build the matrices of a group of images
    //    at once, one image per thread, then hand the group to one batched GEMM, which spreads
    //    the work over the threads itself. Parallelising only at one level avoids nested thread
    //    pools fighting over the same cores.
    //  * an image too big for the scratch budget (forward, input gradient): one image at a time,
    //    its matrix built in slabs of columns, and the parallelism comes from inside each GEMM.
    //  * the weight gradient otherwise: one wide GEMM per group of images, whose im2col operand
    //    is gathered from the images as the GEMM packs it, so it needs no im2col scratch at all.

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
        else if (UsesWinograd<T>(g, inputGradient: false))
        {
            // 3x3, stride 1: fewer multiplications than im2col's GEMM (Conv2dWinograd.cs).
            ForwardWinograd(g, input, weight, bias, output);
            return; // bias already added
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
        else if (UsesSmallPlaneTasks<T>(g))
        {
            // Small output planes (121 pixels for 13x13, 16 for 4x4): a few whole images per task,
            // see Conv2dSmallPlanes.cs.
            ForwardSmallPlanes(g, input, weight, bias, output);
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
        else if (UsesWinograd<T>(g, inputGradient: true))
        {
            BackwardInputWinograd(g, gradOutput, weight, gradInput);
        }
        else if (UsesSmallPlaneTasks<T>(g))
        {
            BackwardInputSmallPlanes(g, gradOutput, weight, gradInput);
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
        long chunkElements = (long)k * p + (long)outC * k; // one chunk's im2col matrix and partial sum
        if (UsesWinograd<T>(g, inputGradient: false))
        {
            BackwardWeightWinograd(g, input, gradOutput, gradWeight);
        }
        else if (k <= FewTapsMax && chunkElements <= GroupElements)
        {
            BackwardWeightFewTaps(g, input, gradOutput, gradWeight, chunkElements);
        }
        // d weight[OutC, K] = sum over images of dy[OutC, P] * colᵀ[P, K]. Laying a group of images
        // side by side, col as [K, group*P] and dy as [OutC, group*P], turns that sum into the
        // inner dimension of ONE GEMM: no per-thread partial sums, and the GEMM's fixed summation
        // order makes the result deterministic. Groups accumulate in order. col is never written
        // out: the GEMM gathers each block of it from the images as it packs (ImageColumns), so
        // only dy is laid out wide, and a group is as many images as its dy budget allows.
        // The GEMM computes the transpose, d weightᵀ[K, OutC] = col * dyᵀ, into scratch: both
        // products read their long rows the same way, but the GEMM runs the transposed B of OutC
        // rows faster than one of K rows (288 for a 32-channel 3x3 filter): 15-35% faster in our
        // timings of the CNN's shapes (64 x 288 and 64 x 576, inner 3872 and 576). The small
        // transpose into gradWeight at the end is noise next to it.
        else
        {
            int group = GroupSize(batch, outImage);
            T* gradWeightT = ThreadScratch.Work<T>((long)k * outC + (group > 1 ? outC * (long)group * p : 0)); // [K, OutC]
            T* dyWide = gradWeightT + (long)k * outC;
            for (int n0 = 0; n0 < batch; n0 += group)
            {
                int count = Math.Min(group, batch - n0);
                int width = count * p; // columns of the side-by-side matrices
                T* dy = gradOutput + n0 * outImage; // one image's dy is already [OutC, P]
                if (count > 1)
                {
                    CpuParallel.For(count, i => PackImage(gradOutput + (n0 + i) * outImage, p, outC, dyWide + i * p, width), outImage);
                    dy = dyWide;
                }
                GemmCore<T>.Run(new ImageColumns<T>(g, input + n0 * inImage), true, k, outC, width,
                    T.One, dy, width, n0 == 0 ? T.Zero : T.One, gradWeightT, outC, CpuParallel.Threads);
            }
            for (int oc = 0; oc < outC; oc++)
                for (int r = 0; r < k; r++)
                    gradWeight[(long)oc * k + r] = gradWeightT[(long)r * outC + oc];
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
