using System.Numerics;
using ILGPU;

namespace Tensorium.Kernels.Gpu;

/// <summary>How two partial results of a reduction combine (a sum adds, a max picks). Implemented by structs, so each kernel instantiation is specialised for its combine.</summary>
/// <typeparam name="T">The partial result's type: an element, or a small struct such as (value, index).</typeparam>
public interface ICombine<T> where T : unmanaged
{
    /// <summary>The combination of two partial results; must be associative and commutative, as the tree pairs them in its own order.</summary>
    T Combine(T a, T b);
}

/// <summary>Addition: the combine of sums.</summary>
public readonly struct AddCombine<T> : ICombine<T> where T : unmanaged, INumber<T>
{
    /// <inheritdoc />
    public T Combine(T a, T b) => a + b;
}

/// <summary>
/// The reduction every row kernel of the Reduce, Softmax and CrossEntropy families shares: a
/// group's threads are cut into segments of <c>width</c> consecutive threads (a power of two),
/// one segment per row, and each segment combines its threads' partial results by a tree in
/// shared memory.
/// </summary>
/// <remarks>
/// <para>Why segments rather than one group per row: a short row gives few threads work, so a
/// group of 256 threads on a 20-column row would leave most of them idle. The host picks a
/// width that gives each thread about <see cref="ElementsPerThread"/> elements (1 for very short
/// rows: one thread per row, no tree at all, up to <see cref="MaxGroup"/> for long ones) and
/// packs MaxGroup / width rows into a group. On the emulated (CPU) device every thread and
/// barrier is costly, so the same choice keeps the tests fast.</para>
/// <para>Why not ILGPU.Algorithms' <c>GroupExtensions.AllReduce</c>: it reduces a whole group
/// (not segments), and on the CPU accelerator it combines through atomics in arrival order, so
/// float sums would vary from run to run and a (value, index) pair could not be combined at
/// all. The tree here pairs partial results in a fixed order on every device.</para>
/// </remarks>
public static class SegmentReduce
{
    /// <summary>The most threads in a group; the size of every shared scratch array.</summary>
    public const int MaxGroup = 256;

    /// <summary>About how many elements each thread of a segment folds before the tree combines them (see remarks).</summary>
    public const int ElementsPerThread = 16;

    /// <summary>The row this thread's segment reduces: rows are numbered across groups, MaxGroup / width per group.</summary>
    public static int Row(int width) => Grid.IdxX * (Group.DimX / width) + Group.IdxX / width;

    /// <summary>This thread's place in its segment, 0 to width - 1 (width is a power of two).</summary>
    public static int Lane(int width) => Group.IdxX & (width - 1);

    /// <summary>
    /// Combines <paramref name="value"/> over the thread's segment and returns the total to every
    /// thread of the segment. Every thread of the group must call it (it holds barriers), with the
    /// same width; <paramref name="scratch"/> is a shared array of at least the group's size, free
    /// again when this returns.
    /// </summary>
    public static T All<T, TCombine>(ArrayView<T> scratch, T value, int width)
        where T : unmanaged where TCombine : struct, ICombine<T>
    {
        // One thread per row: nothing to combine. (width is the same for the whole group, so
        // either every thread skips the barriers below or none does.)
        if (width == 1) return value;
        int lid = Group.IdxX, lane = lid & (width - 1);
        scratch[lid] = value;
        Group.Barrier();
        // Halve the active lanes each step: lane l takes in lane l + span's partial result.
        for (int span = width / 2; span > 0; span /= 2)
        {
            if (lane < span) scratch[lid] = default(TCombine).Combine(scratch[lid], scratch[lid + span]);
            Group.Barrier();
        }
        T total = scratch[lid - lane];
        // Every thread has read its total before anyone writes the scratch again.
        Group.Barrier();
        return total;
    }
}
