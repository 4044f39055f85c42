using System.Numerics;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

// The forward and input-gradient passes for small output planes, a few whole images per task.
public static unsafe partial class Conv2d
{
    /// <summary>
    /// Budget for one task's column matrix, in bytes: with the product beside it, it stays in a
    /// 512 KiB L2 cache from the moment im2col writes it until the GEMM has read it. (An image
    /// whose own matrix is larger still gets a task of its own.)
    /// </summary>
    private const int TaskMatrixBytes = 192 * 1024;

    /// <summary>
    /// Row length of a task's matrices for <paramref name="columns"/> columns: whole 16-column
    /// micro-tile strips (so the 256-bit GEMM reads the columns in place), never a multiple of
    /// 1 KiB (rows that far apart fall into a few L1 cache sets; see <see cref="GemmCore{T}"/>).
    /// </summary>
    private static int TaskRowLength<T>(int columns) where T : unmanaged
    {
        int ld = (columns + 15) / 16 * 16;
        return ld * sizeof(T) % 1024 == 0 ? ld + 16 : ld;
    }

    /// <summary>
    /// Whether the batch gives every thread at least one image: each task runs on one thread,
    /// so a smaller batch (one image to serve) is left to a GEMM that spreads over the threads.
    /// </summary>
    private static bool EnoughImagesForTasks(int batch) => batch >= CpuParallel.Threads;

    /// <summary>
    /// Images per task: as many as the budget holds, at least one, and few enough that every
    /// thread gets a task.
    /// </summary>
    private static int ImagesPerTask<T>(int k, int p, int batch) where T : unmanaged
        => Math.Clamp(TaskMatrixBytes / sizeof(T) / k / p, 1, (batch + CpuParallel.Threads - 1) / CpuParallel.Threads);

    /// <summary>
    /// Forward pass, a few images per task: im2col them side by side into this thread's matrix
    /// [K, ld], multiply by the weight into a product [OutC, ld], write it out as NCHW with the
    /// bias. Building the whole batch's column matrix first (megabytes) and then multiplying sent
    /// every column through main memory twice; here it never leaves the L2 cache.
    /// </summary>
    private static void ForwardSmallPlanes<T>(Conv2dGeometry g, T* input, T* weight, T* bias, T* output)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels;
        long inImage = g.InImage, outImage = g.OutImage;
        int images = ImagesPerTask<T>(k, p, g.Batch), tasks = (g.Batch + images - 1) / images;
        CpuParallel.For(tasks, t =>
        {
            int n0 = t * images, count = Math.Min(images, g.Batch - n0), used = count * p, ld = TaskRowLength<T>(used);
            T* col = ThreadScratch.Work<T>(((long)k + outC) * ld);
            T* product = col + (long)k * ld;
            for (int i = 0; i < count; i++)
                Im2Col(g, input + (n0 + i) * inImage, col + i * p, 0, p, ld);
            // The GEMM multiplies whole strips, padding columns included (their results are dropped):
            // zero them, since stale scratch could hold NaNs or denormals, which slow the FMAs.
            if (used < ld)
                for (int r = 0; r < k; r++) Zero(col + (long)r * ld + used, ld - used);
            Gemm.RunOnThisThread(false, false, outC, ld, k, T.One, weight, k, col, ld, T.Zero, product, ld);
            for (int i = 0; i < count; i++)
                UnpackImage(product + i * p, ld, output + (n0 + i) * outImage, p, outC, bias);
        }, workPerItem: 2L * outC * k * images * p);
    }

    /// <summary>
    /// Input gradient, a few images per task: their output gradients side by side [OutC, ld],
    /// times the transposed weight into this thread's d col [K, ld], then col2im onto each image.
    /// A task owns its images, so no two threads ever add onto the same pixel.
    /// </summary>
    private static void BackwardInputSmallPlanes<T>(Conv2dGeometry g, T* gradOutput, T* weight, T* gradInput)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels;
        long inImage = g.InImage, outImage = g.OutImage;
        int images = ImagesPerTask<T>(k, p, g.Batch), tasks = (g.Batch + images - 1) / images;
        CpuParallel.For(tasks, t =>
        {
            int n0 = t * images, count = Math.Min(images, g.Batch - n0), used = count * p, ld = TaskRowLength<T>(used);
            T* col = ThreadScratch.Work<T>(((long)k + outC) * ld);
            T* dyWide = col + (long)k * ld;
            for (int i = 0; i < count; i++)
                PackImage(gradOutput + (n0 + i) * outImage, p, outC, dyWide + i * p, ld);
            if (used < ld)
                for (int c = 0; c < outC; c++) Zero(dyWide + (long)c * ld + used, ld - used);
            Gemm.RunOnThisThread(true, false, k, ld, outC, T.One, weight, k, dyWide, ld, T.Zero, col, ld);
            for (int i = 0; i < count; i++)
            {
                T* dx = gradInput + (n0 + i) * inImage;
                // col2im adds, and stride/padding may leave pixels no filter touched: start from zero.
                new Span<T>(dx, (int)inImage).Clear();
                Col2ImAdd(g, col + i * p, dx, 0, p, ld);
            }
        }, workPerItem: 2L * outC * k * images * p);
    }
}
