using ILGPU;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Filling and copying device memory: fill, arange, and the strided copy (with a dtype
/// conversion) behind contiguous(), to(dtype) and transpose. One thread per element; every view
/// starts at its tensor's first element.
/// </summary>
public static class Memory
{
    /// <summary>y[i] = value.</summary>
    public static void Fill<T>(Index1D i, ArrayView<T> y, T value) where T : unmanaged => y[i] = value;

    /// <summary>y[i] = start + i * step, computed in double and then cast, as the CPU does, so every dtype gets the same sequence.</summary>
    public static void Arange<T, TCast>(Index1D i, ArrayView<T> y, double start, double step)
        where T : unmanaged where TCast : struct, ICast<double, T> =>
        y[i] = default(TCast).Cast(start + i * step);

    /// <summary>
    /// dst[index] = (TDst)src[index] for every index of the layout's shape: thread i finds its
    /// element's offset in each operand from the strides (A: src, B: dst).
    /// </summary>
    public static void CopyStrided<TSrc, TDst, TCast>(Index1D i, ArrayView<TSrc> src, ArrayView<TDst> dst, StridedLayout layout)
        where TSrc : unmanaged where TDst : unmanaged where TCast : struct, ICast<TSrc, TDst> =>
        dst[layout.Offset(i, layout.StridesB)] = default(TCast).Cast(src[layout.Offset(i, layout.StridesA)]);
}
