using System.Numerics;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// Gather-style indexing kernels on contiguous data seen as [outer, axis, inner]. Backward
/// passes accumulate in a fixed order, so results are deterministic for any thread count. Indices
/// arrive checked: the indexing ops reject one outside its axis before any kernel runs.
/// </summary>
public static unsafe class Indexing
{
    /// <summary>
    /// torch.gather: y[o, j, i] = x[o, index[o, j, i], i]; x is [outer, xAxis, inner],
    /// index and y are [outer, indexAxis, inner].
    /// </summary>
    public static void Gather<T>(T* x, long* index, T* y, int outer, int xAxis, int indexAxis, int inner) where T : unmanaged
    {
        nint px = (nint)x, pi = (nint)index, py = (nint)y;
        CpuParallel.For(outer, o =>
        {
            for (int j = 0; j < indexAxis; j++)
                for (int i = 0; i < inner; i++)
                {
                    long at = ((long)o * indexAxis + j) * inner + i;
                    long k = ((long*)pi)[at];
                    ((T*)py)[at] = ((T*)px)[((long)o * xAxis + k) * inner + i];
                }
        }, (long)indexAxis * inner);
    }

    /// <summary>The backward of gather: y[o, index[o, j, i], i] += src[o, j, i] (y is accumulated into).</summary>
    public static void ScatterAdd<T>(T* src, long* index, T* y, int outer, int yAxis, int indexAxis, int inner) where T : unmanaged, INumber<T>
    {
        nint ps = (nint)src, pi = (nint)index, py = (nint)y;
        CpuParallel.For(outer, o =>
        {
            for (int j = 0; j < indexAxis; j++)
                for (int i = 0; i < inner; i++)
                {
                    long at = ((long)o * indexAxis + j) * inner + i;
                    long k = ((long*)pi)[at];
                    ((T*)py)[((long)o * yAxis + k) * inner + i] += ((T*)ps)[at];
                }
        }, (long)indexAxis * inner);
    }

    /// <summary>torch.index_select: y[o, j, i] = x[o, index[j], i].</summary>
    public static void IndexSelect<T>(T* x, long* index, T* y, int outer, int xAxis, int count, int inner) where T : unmanaged
    {
        nint px = (nint)x, pi = (nint)index, py = (nint)y;
        CpuParallel.For(outer * count, oj =>
        {
            int o = oj / count, j = oj % count;
            long k = ((long*)pi)[j];
            new ReadOnlySpan<T>((T*)px + ((long)o * xAxis + k) * inner, inner).CopyTo(new Span<T>((T*)py + (long)oj * inner, inner));
        }, inner);
    }

    /// <summary>The backward of index_select: y[o, index[j], i] += src[o, j, i], rows added in order of j.</summary>
    public static void IndexAdd<T>(T* src, long* index, T* y, int outer, int yAxis, int count, int inner) where T : unmanaged, INumber<T>
    {
        nint ps = (nint)src, pi = (nint)index, py = (nint)y;
        // Parallel over (outer, inner blocks): each thread owns whole output columns, so the
        // += never races and the order over j is fixed.
        const int Block = 256;
        int blocks = (inner + Block - 1) / Block;
        CpuParallel.For(outer * blocks, ob =>
        {
            int o = ob / blocks, start = ob % blocks * Block, end = Math.Min(inner, start + Block);
            for (int j = 0; j < count; j++)
            {
                var from = (T*)ps + ((long)o * count + j) * inner;
                var to = (T*)py + ((long)o * yAxis + ((long*)pi)[j]) * inner;
                for (int i = start; i < end; i++) to[i] += from[i];
            }
        }, (long)count * Block);
    }

    /// <summary>y[r, index[r]] = 1 on a zeroed [rows, classes] output.</summary>
    public static void OneHot<T>(long* index, T* y, int rows, int classes) where T : unmanaged, INumber<T>
    {
        new Span<T>(y, rows * classes).Clear();
        for (int r = 0; r < rows; r++) y[(long)r * classes + index[r]] = T.One;
    }
}
