using ILGPU;
using ILGPU.Runtime;
using Tensorium.Kernels.Gpu;

namespace Tensorium;

/// <summary>
/// Indexing on ILGPU (Kernels/Gpu/Indexing.cs): gather, scatter-add, index-select, index-add,
/// one-hot, for every element type, with int64 indices that the ops have already checked. One
/// thread per output element; the accumulating ops are gathers too, so they are deterministic.
/// </summary>
internal static class GpuIndexing
{
    // gather, scatter-add and index-select share a parameter list: (source, index, y, axis, index count, inner).
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<long>, ArrayView<float>, int, int, int>> GatherFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<long>, ArrayView<float>, int, int, int>(Indexing.Gather);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<long>, ArrayView<double>, int, int, int>> GatherFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<long>, ArrayView<double>, int, int, int>(Indexing.Gather);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<int>, ArrayView<long>, ArrayView<int>, int, int, int>> GatherInt32 =
        IlgpuKernels.Auto<Index1D, ArrayView<int>, ArrayView<long>, ArrayView<int>, int, int, int>(Indexing.Gather);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<long>, ArrayView<long>, int, int, int>> GatherInt64 =
        IlgpuKernels.Auto<Index1D, ArrayView<long>, ArrayView<long>, ArrayView<long>, int, int, int>(Indexing.Gather);

    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<long>, ArrayView<float>, int, int, int>> ScatterAddFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<long>, ArrayView<float>, int, int, int>(Indexing.ScatterAdd);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<long>, ArrayView<double>, int, int, int>> ScatterAddFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<long>, ArrayView<double>, int, int, int>(Indexing.ScatterAdd);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<int>, ArrayView<long>, ArrayView<int>, int, int, int>> ScatterAddInt32 =
        IlgpuKernels.Auto<Index1D, ArrayView<int>, ArrayView<long>, ArrayView<int>, int, int, int>(Indexing.ScatterAdd);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<long>, ArrayView<long>, int, int, int>> ScatterAddInt64 =
        IlgpuKernels.Auto<Index1D, ArrayView<long>, ArrayView<long>, ArrayView<long>, int, int, int>(Indexing.ScatterAdd);

    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<long>, ArrayView<float>, int, int, int>> IndexSelectFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<long>, ArrayView<float>, int, int, int>(Indexing.IndexSelect);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<long>, ArrayView<double>, int, int, int>> IndexSelectFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<long>, ArrayView<double>, int, int, int>(Indexing.IndexSelect);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<int>, ArrayView<long>, ArrayView<int>, int, int, int>> IndexSelectInt32 =
        IlgpuKernels.Auto<Index1D, ArrayView<int>, ArrayView<long>, ArrayView<int>, int, int, int>(Indexing.IndexSelect);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<long>, ArrayView<long>, int, int, int>> IndexSelectInt64 =
        IlgpuKernels.Auto<Index1D, ArrayView<long>, ArrayView<long>, ArrayView<long>, int, int, int>(Indexing.IndexSelect);

    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>, int, int, int>> IndexAddFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>, int, int, int>(Indexing.IndexAdd);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<int>, ArrayView<int>, ArrayView<double>, int, int, int>> IndexAddFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<int>, ArrayView<int>, ArrayView<double>, int, int, int>(Indexing.IndexAdd);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int>> IndexAddInt32 =
        IlgpuKernels.Auto<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int>(Indexing.IndexAdd);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<int>, ArrayView<int>, ArrayView<long>, int, int, int>> IndexAddInt64 =
        IlgpuKernels.Auto<Index1D, ArrayView<long>, ArrayView<int>, ArrayView<int>, ArrayView<long>, int, int, int>(Indexing.IndexAdd);

    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<float>, int>> OneHotFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<long>, ArrayView<float>, int>(Indexing.OneHot);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<double>, int>> OneHotFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<long>, ArrayView<double>, int>(Indexing.OneHot);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<int>, int>> OneHotInt32 =
        IlgpuKernels.Auto<Index1D, ArrayView<long>, ArrayView<int>, int>(Indexing.OneHot);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<long>, int>> OneHotInt64 =
        IlgpuKernels.Auto<Index1D, ArrayView<long>, ArrayView<long>, int>(Indexing.OneHot);

    public static void Gather(IlgpuBackend backend, Tensor x, Tensor index, Tensor y, int outer, int xAxis, int indexAxis, int inner) =>
        AlongAxis(backend, "gather", x, index, y, Threads(backend, "gather", (long)outer * indexAxis * inner), xAxis, indexAxis, inner,
            GatherFloat32, GatherFloat64, GatherInt32, GatherInt64);

    public static void ScatterAdd(IlgpuBackend backend, Tensor src, Tensor index, Tensor y, int outer, int yAxis, int indexAxis, int inner) =>
        AlongAxis(backend, "scatter_add", src, index, y, Threads(backend, "scatter_add", (long)outer * yAxis * inner), yAxis, indexAxis, inner,
            ScatterAddFloat32, ScatterAddFloat64, ScatterAddInt32, ScatterAddInt64);

    public static void IndexSelect(IlgpuBackend backend, Tensor x, Tensor index, Tensor y, int outer, int xAxis, int count, int inner) =>
        AlongAxis(backend, "index_select", x, index, y, Threads(backend, "index_select", (long)outer * count * inner), xAxis, count, inner,
            IndexSelectFloat32, IndexSelectFloat64, IndexSelectInt32, IndexSelectInt64);

    /// <summary>Launches one of the three kernels that share (source, index, y, axis, index count, inner), for y's dtype, over n outputs.</summary>
    private static void AlongAxis(IlgpuBackend backend, string op, Tensor source, Tensor index, Tensor y, int n, int axis, int indexCount, int inner,
        IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<long>, ArrayView<float>, int, int, int>> float32,
        IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<long>, ArrayView<double>, int, int, int>> float64,
        IlgpuKernel<Action<Index1D, ArrayView<int>, ArrayView<long>, ArrayView<int>, int, int, int>> int32,
        IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<long>, ArrayView<long>, int, int, int>> int64)
    {
        if (n == 0) return;
        switch (y.DType)
        {
            case DType.Float32: Launch(backend, float32, op, source, index, y, n, axis, indexCount, inner); break;
            case DType.Float64: Launch(backend, float64, op, source, index, y, n, axis, indexCount, inner); break;
            case DType.Int32: Launch(backend, int32, op, source, index, y, n, axis, indexCount, inner); break;
            case DType.Int64: Launch(backend, int64, op, source, index, y, n, axis, indexCount, inner); break;
            default: throw Unsupported(backend, op, y.DType);
        }
    }

    private static void Launch<T>(IlgpuBackend backend, IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, int, int, int>> kernel,
        string op, Tensor source, Tensor index, Tensor y, int n, int axis, int indexCount, int inner) where T : unmanaged =>
        kernel.On(backend)(n, backend.View<T>(source, op), backend.View<long>(index, op), backend.View<T>(y, op), axis, indexCount, inner);

    /// <summary>
    /// index_add as a gather: the host inverts the index first (a stable counting sort, so the
    /// entries j with index[j] == k are order[starts[k] .. starts[k + 1]), ascending) and each
    /// output then adds its own entries in the CPU's order. Reading the index back waits for the
    /// kernels before it; the index is small (one entry per selected row).
    /// </summary>
    public static void IndexAdd(IlgpuBackend backend, Tensor src, Tensor index, Tensor y, int outer, int yAxis, int count, int inner)
    {
        const string op = "index_add";
        int n = Threads(backend, op, (long)outer * yAxis * inner);
        if (n == 0 || count == 0) return;
        var indices = index.ToArray<long>();
        var starts = new int[yAxis + 1];
        foreach (long k in indices) starts[k + 1]++;
        for (int k = 0; k < yAxis; k++) starts[k + 1] += starts[k];
        var order = new int[count];
        var next = starts[..yAxis];
        for (int j = 0; j < count; j++) order[next[indices[j]]++] = j;

        using var startsBuffer = backend.Accelerator.Allocate1D(starts);
        using var orderBuffer = backend.Accelerator.Allocate1D(order);
        switch (y.DType)
        {
            case DType.Float32: LaunchIndexAdd(backend, IndexAddFloat32, src, startsBuffer.View, orderBuffer.View, y, n, yAxis, count, inner); break;
            case DType.Float64: LaunchIndexAdd(backend, IndexAddFloat64, src, startsBuffer.View, orderBuffer.View, y, n, yAxis, count, inner); break;
            case DType.Int32: LaunchIndexAdd(backend, IndexAddInt32, src, startsBuffer.View, orderBuffer.View, y, n, yAxis, count, inner); break;
            case DType.Int64: LaunchIndexAdd(backend, IndexAddInt64, src, startsBuffer.View, orderBuffer.View, y, n, yAxis, count, inner); break;
            default: throw Unsupported(backend, op, y.DType);
        }
        // The two buffers are freed when this method returns: wait for the kernel that reads them.
        backend.Synchronize();
    }

    private static void LaunchIndexAdd<T>(IlgpuBackend backend, IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<int>, ArrayView<int>, ArrayView<T>, int, int, int>> kernel,
        Tensor src, ArrayView<int> starts, ArrayView<int> order, Tensor y, int n, int yAxis, int count, int inner) where T : unmanaged =>
        kernel.On(backend)(n, backend.View<T>(src, "index_add"), starts, order, backend.View<T>(y, "index_add"), yAxis, count, inner);

    public static void OneHot(IlgpuBackend backend, Tensor index, Tensor y, int rows, int classes)
    {
        const string op = "one_hot";
        int n = Threads(backend, op, (long)rows * classes);
        if (n == 0) return;
        var ix = backend.View<long>(index, op);
        switch (y.DType)
        {
            case DType.Float32: OneHotFloat32.On(backend)(n, ix, backend.View<float>(y, op), classes); break;
            case DType.Float64: OneHotFloat64.On(backend)(n, ix, backend.View<double>(y, op), classes); break;
            case DType.Int32: OneHotInt32.On(backend)(n, ix, backend.View<int>(y, op), classes); break;
            case DType.Int64: OneHotInt64.On(backend)(n, ix, backend.View<long>(y, op), classes); break;
            default: throw Unsupported(backend, op, y.DType);
        }
    }

    /// <summary>One thread per output element: the count must fit the kernels' int indexing.</summary>
    private static int Threads(IlgpuBackend backend, string op, long count) =>
        count <= int.MaxValue ? (int)count : throw new NotSupportedException($"{op}: {count} elements is more than one launch on {backend.Device} handles ({int.MaxValue}).");

    private static NotSupportedException Unsupported(IlgpuBackend backend, string op, DType dtype) =>
        new($"{op}: dtype {dtype.Name()} is not supported on {backend.Device} for this op.");
}
