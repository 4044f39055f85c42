namespace Tensorium;

/// <summary>A CPU tensor as the raw pointer the SIMD kernels take.</summary>
internal static unsafe class CpuTensor
{
    /// <summary>Pointer to the first element of <paramref name="t"/> (its offset applied).</summary>
    public static T* Ptr<T>(Tensor t) where T : unmanaged => (T*)t.StorageFor("cpu").Handle + t.Layout.Offset;

    /// <summary>Pointer to an optional tensor's first element, or null.</summary>
    public static T* PtrOrNull<T>(Tensor? t) where T : unmanaged => t == null ? null : Ptr<T>(t);
}
