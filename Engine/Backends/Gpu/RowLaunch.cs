using ILGPU;
using Tensorium.Kernels.Gpu;

namespace Tensorium;

/// <summary>
/// The launch shape of a row kernel (Reduce, Softmax, CrossEntropy): each row is reduced by a
/// segment of <see cref="Width"/> threads (see <see cref="SegmentReduce"/>), and a group packs as
/// many segments as fit in <see cref="SegmentReduce.MaxGroup"/> threads.
/// </summary>
/// <param name="Width">Threads per row: a power of two from 1 to MaxGroup.</param>
/// <param name="Config">Groups and threads per group.</param>
internal readonly record struct RowLaunch(int Width, KernelConfig Config)
{
    /// <summary>The shape for <paramref name="rows"/> (at least 1) rows of <paramref name="cols"/> elements.</summary>
    public static RowLaunch For(int rows, int cols)
    {
        // Enough threads that each folds about ElementsPerThread elements: one thread per row for
        // short rows (no tree, no barrier), a whole group for rows of 4096 elements and more.
        int width = 1;
        while (width * 2 <= SegmentReduce.MaxGroup && width * 2 * SegmentReduce.ElementsPerThread <= cols) width *= 2;
        // A smaller group when there are few rows, so no group holds segments with no row.
        int group = width;
        while (group < SegmentReduce.MaxGroup && group < (long)width * rows) group *= 2;
        int rowsPerGroup = group / width;
        return new RowLaunch(width, new KernelConfig((rows + rowsPerGroup - 1) / rowsPerGroup, group));
    }
}
