using System.Runtime.InteropServices;

namespace Tensorium.Bench;

/// <summary>64-byte aligned native arrays for bare-kernel benchmarks, filled with values in [-1, 1) or with zeros.</summary>
public static unsafe class NativeBuffers
{
    /// <summary>Allocates <paramref name="count"/> elements; free with <see cref="Free"/>.</summary>
    public static T* Random<T>(long count, int seed = 42) where T : unmanaged, System.Numerics.INumber<T>
    {
        var p = (T*)NativeMemory.AlignedAlloc((nuint)(Math.Max(1, count) * sizeof(T)), 64);
        var rng = new Random(seed);
        for (long i = 0; i < count; i++) p[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        return p;
    }

    /// <summary>Allocates <paramref name="count"/> zeros; free with <see cref="Free"/>.</summary>
    public static T* Zeros<T>(long count) where T : unmanaged
    {
        var p = (T*)NativeMemory.AlignedAlloc((nuint)(Math.Max(1, count) * sizeof(T)), 64);
        NativeMemory.Clear(p, (nuint)(count * sizeof(T)));
        return p;
    }

    /// <summary>Frees a buffer from <see cref="Random{T}"/> or <see cref="Zeros{T}"/> (null is fine).</summary>
    public static void Free(void* p) => NativeMemory.AlignedFree(p);
}
