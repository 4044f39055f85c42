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
    /// Row length of a task's matrices for <paramref name="columns"/> columns: whole micro-tile
    /// strips of the GEMM kernel in use (so it reads the columns in place), never a multiple of
    /// 1 KiB (rows that far apart fall into a few L1 cache sets; see <see cref="GemmCore{T}"/>).
    /// The strips are 32 floats wide with AVX-512: rounded to 16, as for AVX2, the forward pass's
    /// GEMM packed its whole column matrix again (5% of the CNN's conv2 forward on Zen 4).
    /// </summary>
    private static int TaskRowLength<T>(int columns) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int unit = GemmCore<T>.TileColumns;
        int ld = (columns + unit - 1) / unit * unit;
        return ld * sizeof(T) % 1024 == 0 ? ld + unit : ld;
    }

    /// <summary>
    /// Whether the forward and input-gradient passes take the small-plane tasks: a plane too
    /// small for a GEMM of its own, a batch with an image for every thread (each task runs on one
    /// thread, so a smaller batch, one image to serve, is left to a GEMM that spreads over the
    /// threads), and one image's two matrices within the scratch budget.
    /// </summary>
    private static bool UsesSmallPlaneTasks<T>(in Conv2dGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
        => g.OutPlane < WideBelowPixels && g.Batch >= CpuParallel.Threads
           && ((long)g.ColumnRows + g.OutChannels) * TaskRowLength<T>(g.OutPlane) <= GroupElements;

    /// <summary>One task's work: images [first, first + count), the thread's two matrices, ld apart per row.</summary>
    private delegate void SmallPlaneTask<T>(int first, int count, int ld, T* col, T* channels) where T : unmanaged;

    /// <summary>
    /// Splits the batch into tasks of a few whole images (as many as the budget holds, at least
    /// one, and few enough that every thread gets a task) and runs <paramref name="task"/> for
    /// each, in parallel, with this thread's column matrix [K, ld] and a [OutC, ld] matrix beside it.
    /// </summary>
    private static void ForEachSmallPlaneTask<T>(in Conv2dGeometry g, SmallPlaneTask<T> task) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels, batch = g.Batch;
        int images = Math.Clamp(TaskMatrixBytes / sizeof(T) / k / p, 1, (batch + CpuParallel.Threads - 1) / CpuParallel.Threads);
        CpuParallel.For((batch + images - 1) / images, t =>
        {
            int first = t * images, count = Math.Min(images, batch - first), ld = TaskRowLength<T>(count * p);
            T* col = ThreadScratch.Work<T>(((long)k + outC) * ld);
            task(first, count, ld, col, col + (long)k * ld);
        }, workPerItem: 2L * outC * k * images * p);
    }

    /// <summary>
    /// Zeroes columns [used, ld) of a rows x ld matrix. The GEMM multiplies whole strips, padding
    /// columns included (their results are dropped), and stale scratch could hold NaNs or
    /// denormals, which slow the FMAs.
    /// </summary>
    private static void ZeroPadding<T>(T* matrix, int rows, int used, int ld) where T : unmanaged, INumber<T>
    {
        if (used < ld)
            for (int r = 0; r < rows; r++) Zero(matrix + (long)r * ld + used, ld - used);
    }

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
        ForEachSmallPlaneTask<T>(g, (first, count, ld, col, product) =>
        {
            for (int i = 0; i < count; i++)
                Im2Col(g, input + (first + i) * inImage, col + i * p, 0, p, ld);
            ZeroPadding(col, k, count * p, ld);
            Gemm.RunOnThisThread(false, false, outC, ld, k, T.One, weight, k, col, ld, T.Zero, product, ld);
            for (int i = 0; i < count; i++)
                UnpackImage(product + i * p, ld, output + (first + i) * outImage, p, outC, bias);
        });
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
        ForEachSmallPlaneTask<T>(g, (first, count, ld, col, dyWide) =>
        {
            for (int i = 0; i < count; i++)
                PackImage(gradOutput + (first + i) * outImage, p, outC, dyWide + i * p, ld);
            ZeroPadding(dyWide, outC, count * p, ld);
            Gemm.RunOnThisThread(true, false, k, ld, outC, T.One, weight, k, dyWide, ld, T.Zero, col, ld);
            for (int i = 0; i < count; i++)
            {
                T* dx = gradInput + (first + i) * inImage;
                // col2im adds, and stride/padding may leave pixels no filter touched: start from zero.
                new Span<T>(dx, (int)inImage).Clear();
                Col2ImAdd(g, col + i * p, dx, 0, p, ld);
            }
        });
    }
}
