using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Tensorium;

/// <summary>
/// The device buffers of one accelerator behind <see cref="Storage.Handle"/>: a handle is a
/// number that names an ILGPU buffer (ILGPU buffers are objects, storages hold an nint). The
/// <see cref="BufferPool"/> calls <see cref="Allocate"/> and <see cref="Free"/>; both may run on
/// any thread (a finalizer frees storage too), so the map is concurrent.
/// </summary>
internal sealed class IlgpuBuffers(Device device, Accelerator accelerator)
{
    private readonly ConcurrentDictionary<nint, MemoryBuffer1D<byte, Stride1D.Dense>> _buffers = new();
    private long _lastHandle;

    /// <summary>A new buffer of <paramref name="bytes"/> bytes; out of device memory becomes an <see cref="OutOfMemoryException"/> naming the device, so the pool frees its cache and retries.</summary>
    public nint Allocate(long bytes)
    {
        MemoryBuffer1D<byte, Stride1D.Dense> buffer;
        try
        {
            buffer = accelerator.Allocate1D<byte>(bytes);
        }
        catch (Exception e) when (e is OutOfMemoryException || IsCudaOutOfMemory(e))
        {
            throw new OutOfMemoryException($"{device}: asked for {bytes} bytes; {accelerator.Name} has {accelerator.MemorySize} bytes.", e);
        }
        nint handle = (nint)Interlocked.Increment(ref _lastHandle);
        _buffers[handle] = buffer;
        return handle;
    }

    // ILGPU reports CUDA errors by name (CudaException.Error is the CudaError's name).
    private static bool IsCudaOutOfMemory(Exception e) =>
        e is CudaException cuda && cuda.Error.Contains(nameof(CudaError.CUDA_ERROR_OUT_OF_MEMORY), StringComparison.Ordinal);

    /// <summary>Disposes the buffer behind <paramref name="handle"/>.</summary>
    public void Free(nint handle)
    {
        if (_buffers.TryRemove(handle, out var buffer)) buffer.Dispose();
    }

    /// <summary>The buffer behind <paramref name="handle"/>, as bytes.</summary>
    public ArrayView<byte> Bytes(nint handle) => Buffer(handle).View.AsContiguous();

    /// <summary>The device address where the buffer behind <paramref name="handle"/> starts.</summary>
    public nint NativePointer(nint handle) => Buffer(handle).NativePtr;

    private MemoryBuffer1D<byte, Stride1D.Dense> Buffer(nint handle) =>
        _buffers.TryGetValue(handle, out var buffer)
            ? buffer
            : throw new ObjectDisposedException(nameof(Storage), $"{device}: buffer {handle} is not allocated (the tensor's memory was released).");
}
