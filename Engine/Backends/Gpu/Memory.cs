using ILGPU;
using ILGPU.Runtime;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Gpu;

namespace Tensorium;

/// <summary>
/// Device memory on ILGPU: host transfers, the strided copy (with a dtype conversion), fill and
/// arange. The worked example of a family: kernels as static readonly
/// <see cref="IlgpuKernel{TLauncher}"/> fields (one per instantiation, registered for the PTX
/// test), a switch on dtype that picks one, views from the backend, and a launch.
/// </summary>
internal static class GpuMemory
{
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, float>> FillFloat32 = IlgpuKernels.Auto<Index1D, ArrayView<float>, float>(Memory.Fill);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, double>> FillFloat64 = IlgpuKernels.Auto<Index1D, ArrayView<double>, double>(Memory.Fill);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<int>, int>> FillInt32 = IlgpuKernels.Auto<Index1D, ArrayView<int>, int>(Memory.Fill);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, long>> FillInt64 = IlgpuKernels.Auto<Index1D, ArrayView<long>, long>(Memory.Fill);

    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, double, double>> ArangeFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, double, double>(Memory.Arange<float, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, double, double>> ArangeFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, double, double>(Memory.Arange<double, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<int>, double, double>> ArangeInt32 =
        IlgpuKernels.Auto<Index1D, ArrayView<int>, double, double>(Memory.Arange<int, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, double, double>> ArangeInt64 =
        IlgpuKernels.Auto<Index1D, ArrayView<long>, double, double>(Memory.Arange<long, Casts>);

    // One strided copy per (source, destination) dtype pair.
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, StridedLayout>> CopyFloat32ToFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, StridedLayout>(Memory.CopyStrided<float, float, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<double>, StridedLayout>> CopyFloat32ToFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<double>, StridedLayout>(Memory.CopyStrided<float, double, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<int>, StridedLayout>> CopyFloat32ToInt32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<int>, StridedLayout>(Memory.CopyStrided<float, int, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<long>, StridedLayout>> CopyFloat32ToInt64 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<long>, StridedLayout>(Memory.CopyStrided<float, long, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<float>, StridedLayout>> CopyFloat64ToFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<float>, StridedLayout>(Memory.CopyStrided<double, float, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, StridedLayout>> CopyFloat64ToFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, StridedLayout>(Memory.CopyStrided<double, double, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<int>, StridedLayout>> CopyFloat64ToInt32 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<int>, StridedLayout>(Memory.CopyStrided<double, int, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<long>, StridedLayout>> CopyFloat64ToInt64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<long>, StridedLayout>(Memory.CopyStrided<double, long, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<int>, ArrayView<float>, StridedLayout>> CopyInt32ToFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<int>, ArrayView<float>, StridedLayout>(Memory.CopyStrided<int, float, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<int>, ArrayView<double>, StridedLayout>> CopyInt32ToFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<int>, ArrayView<double>, StridedLayout>(Memory.CopyStrided<int, double, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<int>, ArrayView<int>, StridedLayout>> CopyInt32ToInt32 =
        IlgpuKernels.Auto<Index1D, ArrayView<int>, ArrayView<int>, StridedLayout>(Memory.CopyStrided<int, int, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<int>, ArrayView<long>, StridedLayout>> CopyInt32ToInt64 =
        IlgpuKernels.Auto<Index1D, ArrayView<int>, ArrayView<long>, StridedLayout>(Memory.CopyStrided<int, long, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<float>, StridedLayout>> CopyInt64ToFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<long>, ArrayView<float>, StridedLayout>(Memory.CopyStrided<long, float, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<double>, StridedLayout>> CopyInt64ToFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<long>, ArrayView<double>, StridedLayout>(Memory.CopyStrided<long, double, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<int>, StridedLayout>> CopyInt64ToInt32 =
        IlgpuKernels.Auto<Index1D, ArrayView<long>, ArrayView<int>, StridedLayout>(Memory.CopyStrided<long, int, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<long>, StridedLayout>> CopyInt64ToInt64 =
        IlgpuKernels.Auto<Index1D, ArrayView<long>, ArrayView<long>, StridedLayout>(Memory.CopyStrided<long, long, Casts>);

    /// <summary>
    /// Copies host bytes into the storage. ILGPU copies through the raw address of the host memory,
    /// so <paramref name="src"/> is pinned for the copy: a managed array that a garbage collection
    /// moved halfway through (one on another thread is enough) would otherwise be read from where
    /// it used to be.
    /// </summary>
    public static unsafe void Upload(IlgpuBackend backend, Storage dst, ReadOnlySpan<byte> src)
    {
        if (src.IsEmpty) return;
        fixed (byte* pinned = src)
            backend.Bytes(dst).SubView(0, src.Length).CopyFromCPU(ref *pinned, src.Length);
    }

    /// <summary>
    /// Copies the bytes from the tensor's first element; waits for the kernels that write them (the
    /// default stream runs in order). <paramref name="dst"/> is pinned for the copy, as in <see cref="Upload"/>.
    /// </summary>
    public static unsafe void Download(IlgpuBackend backend, Tensor src, Span<byte> dst)
    {
        if (dst.IsEmpty) return;
        fixed (byte* pinned = dst)
            backend.View<byte>(src, "download").SubView(0, dst.Length).CopyToCPU(ref *pinned, dst.Length);
    }

    public static void Fill(IlgpuBackend backend, Tensor dst, double value)
    {
        int n = dst.Count;
        if (n == 0) return;
        // The C# casts: what the CPU's T.CreateTruncating(value) gives.
        switch (dst.DType)
        {
            case DType.Float32: FillFloat32.On(backend)(n, backend.View<float>(dst, "fill"), (float)value); break;
            case DType.Float64: FillFloat64.On(backend)(n, backend.View<double>(dst, "fill"), value); break;
            case DType.Int32: FillInt32.On(backend)(n, backend.View<int>(dst, "fill"), (int)value); break;
            default: FillInt64.On(backend)(n, backend.View<long>(dst, "fill"), (long)value); break;
        }
    }

    public static void Arange(IlgpuBackend backend, Tensor dst, double start, double step)
    {
        int n = dst.Count;
        if (n == 0) return;
        switch (dst.DType)
        {
            case DType.Float32: ArangeFloat32.On(backend)(n, backend.View<float>(dst, "arange"), start, step); break;
            case DType.Float64: ArangeFloat64.On(backend)(n, backend.View<double>(dst, "arange"), start, step); break;
            case DType.Int32: ArangeInt32.On(backend)(n, backend.View<int>(dst, "arange"), start, step); break;
            default: ArangeInt64.On(backend)(n, backend.View<long>(dst, "arange"), start, step); break;
        }
    }

    /// <summary>
    /// dst = src cast to dst's dtype, both strided. The shape is collapsed first (size-1 dims
    /// dropped, dims merged where both operands step through them as one), so the kernel divides
    /// by as few extents as possible and any rank that collapses to 8 dims or fewer works.
    /// </summary>
    public static void Copy(IlgpuBackend backend, Tensor src, Tensor dst)
    {
        int n = dst.Count;
        if (n == 0) return;
        var merged = new StridedIndex(dst.Layout.Shape, src.Layout.Strides, dst.Layout.Strides);
        var layout = new StridedLayout(merged.Shape.Length, Dims.From(merged.Shape, 1), Dims.From(merged.Strides[0]), Dims.From(merged.Strides[1]));
        string op = "copy";
        switch ((src.DType, dst.DType))
        {
            case (DType.Float32, DType.Float32): CopyFloat32ToFloat32.On(backend)(n, backend.View<float>(src, op), backend.View<float>(dst, op), layout); break;
            case (DType.Float32, DType.Float64): CopyFloat32ToFloat64.On(backend)(n, backend.View<float>(src, op), backend.View<double>(dst, op), layout); break;
            case (DType.Float32, DType.Int32): CopyFloat32ToInt32.On(backend)(n, backend.View<float>(src, op), backend.View<int>(dst, op), layout); break;
            case (DType.Float32, DType.Int64): CopyFloat32ToInt64.On(backend)(n, backend.View<float>(src, op), backend.View<long>(dst, op), layout); break;
            case (DType.Float64, DType.Float32): CopyFloat64ToFloat32.On(backend)(n, backend.View<double>(src, op), backend.View<float>(dst, op), layout); break;
            case (DType.Float64, DType.Float64): CopyFloat64ToFloat64.On(backend)(n, backend.View<double>(src, op), backend.View<double>(dst, op), layout); break;
            case (DType.Float64, DType.Int32): CopyFloat64ToInt32.On(backend)(n, backend.View<double>(src, op), backend.View<int>(dst, op), layout); break;
            case (DType.Float64, DType.Int64): CopyFloat64ToInt64.On(backend)(n, backend.View<double>(src, op), backend.View<long>(dst, op), layout); break;
            case (DType.Int32, DType.Float32): CopyInt32ToFloat32.On(backend)(n, backend.View<int>(src, op), backend.View<float>(dst, op), layout); break;
            case (DType.Int32, DType.Float64): CopyInt32ToFloat64.On(backend)(n, backend.View<int>(src, op), backend.View<double>(dst, op), layout); break;
            case (DType.Int32, DType.Int32): CopyInt32ToInt32.On(backend)(n, backend.View<int>(src, op), backend.View<int>(dst, op), layout); break;
            case (DType.Int32, DType.Int64): CopyInt32ToInt64.On(backend)(n, backend.View<int>(src, op), backend.View<long>(dst, op), layout); break;
            case (DType.Int64, DType.Float32): CopyInt64ToFloat32.On(backend)(n, backend.View<long>(src, op), backend.View<float>(dst, op), layout); break;
            case (DType.Int64, DType.Float64): CopyInt64ToFloat64.On(backend)(n, backend.View<long>(src, op), backend.View<double>(dst, op), layout); break;
            case (DType.Int64, DType.Int32): CopyInt64ToInt32.On(backend)(n, backend.View<long>(src, op), backend.View<int>(dst, op), layout); break;
            case (DType.Int64, DType.Int64): CopyInt64ToInt64.On(backend)(n, backend.View<long>(src, op), backend.View<long>(dst, op), layout); break;
        }
    }
}
