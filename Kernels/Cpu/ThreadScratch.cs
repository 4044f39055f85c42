using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// The CPU kernels' one per-thread scratch allocator: growable buffers, 64-byte aligned (so
/// vector loads never split a cache line), reused across calls so hot paths allocate nothing.
/// </summary>
/// <remarks>
/// A thread has three buffers because three users can hold one at the same time on the same thread:
/// <see cref="Packing{T}"/> belongs to the GEMM alone (its packed panels), <see cref="Work{T}"/>
/// to the kernels around it (im2col matrices, pooling phases, recurrent temporaries), which may
/// call the GEMM while they hold theirs, and <see cref="Shared{T}"/> to a kernel that prepares an
/// operand once and then runs parallel tasks that all read it (Winograd's transformed filters),
/// while those tasks, the calling thread's among them, use the other two. A caller must be done
/// with a buffer before it (or a callee) asks for the same one again on the same thread: the next
/// request may move it.
/// The memory is a pinned managed array rather than native memory so that it goes back to the
/// GC with its thread (.NET thread-pool threads come and go; the kernels' workers do not).
/// </remarks>
public static unsafe class ThreadScratch
{
    [ThreadStatic] private static long[]? t_packing;
    [ThreadStatic] private static long[]? t_work;
    [ThreadStatic] private static long[]? t_shared;

    /// <summary>This thread's GEMM packing buffer: at least <paramref name="count"/> uninitialised elements.</summary>
    public static T* Packing<T>(long count) where T : unmanaged => (T*)Ensure(ref t_packing, count * sizeof(T));

    /// <summary>This thread's kernel work buffer: at least <paramref name="count"/> uninitialised elements.</summary>
    public static T* Work<T>(long count) where T : unmanaged => (T*)Ensure(ref t_work, count * sizeof(T));

    /// <summary>This thread's buffer for an operand its parallel tasks share: at least <paramref name="count"/> uninitialised elements.</summary>
    public static T* Shared<T>(long count) where T : unmanaged => (T*)Ensure(ref t_shared, count * sizeof(T));

    private static void* Ensure(ref long[]? buffer, long bytes)
    {
        // Whole 8-byte words, plus 64 bytes of room to align the start to a cache line and 256
        // past the end (Gemm's old scratch kept that margin: a vector read just past a packed
        // block stays inside the buffer).
        long words = (bytes + 7) / 8 + 8 + 32;
        if (buffer == null || buffer.Length < words)
        {
            if (words > Array.MaxLength)
                throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "Kernel scratch buffer larger than the largest array.");
            // Grow by half again so that alternating or slowly growing shapes do not reallocate every call.
            long size = Math.Min(Array.MaxLength, Math.Max(words, buffer == null ? 0 : buffer.Length + buffer.Length / 2L));
            buffer = GC.AllocateUninitializedArray<long>((int)size, pinned: true);
        }
        nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        return (void*)((start + 63) & ~(nint)63);
    }
}
