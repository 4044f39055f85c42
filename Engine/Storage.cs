namespace Tensorium;

/// <summary>
/// A reference-counted block of device memory shared by a tensor and all its views.
/// The memory goes back to the device's pool when the last tensor lets go of it; the
/// finalizer is a safety net for tensors that were never disposed.
/// </summary>
public sealed class Storage
{
    private int _refCount = 1;
    private nint _handle;
    private long _version;

    internal Storage(Device device, DType dtype, int count)
    {
        Device = device;
        DType = dtype;
        Count = count;
        Bytes = Math.Max(1, (long)count * dtype.SizeInBytes());
        _handle = device.Backend.Pool.Rent(Bytes);
    }

    /// <summary>The device that owns the memory.</summary>
    public Device Device { get; }
    /// <summary>Element type the memory was allocated for.</summary>
    public DType DType { get; }
    /// <summary>Number of elements.</summary>
    public int Count { get; }
    /// <summary>Size in bytes.</summary>
    public long Bytes { get; }

    /// <summary>
    /// How many in-place writes (CopyFrom, an optimizer step, gradient accumulation) this memory
    /// has seen. The tape records it for each tensor it saves, so Backward can refuse to use
    /// values that changed after the forward pass (PyTorch's version counter).
    /// </summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Counts one in-place write; shared by every view of this memory.</summary>
    internal void BumpVersion() => Interlocked.Increment(ref _version);

    /// <summary>The raw buffer: a host pointer on the CPU, a device handle elsewhere.</summary>
    public nint Handle => _handle != 0 ? _handle : throw new ObjectDisposedException(nameof(Storage), "The tensor's memory was already released.");

    internal void Retain() => Interlocked.Increment(ref _refCount);

    /// <summary>
    /// True when one tensor handle alone holds this memory: no view, no saved copy on a tape, no
    /// other owner can read or write it. Backward uses it to keep a fresh gradient as a leaf's
    /// .Grad instead of copying it.
    /// </summary>
    internal bool HasSingleOwner => Volatile.Read(ref _refCount) == 1;

    internal void Release()
    {
        if (Interlocked.Decrement(ref _refCount) == 0) Free();
    }

    private void Free()
    {
        nint handle = Interlocked.Exchange(ref _handle, 0);
        if (handle == 0) return;
        Device.Backend.Pool.Return(handle, Bytes);
        GC.SuppressFinalize(this);
    }

    /// <summary>Safety net: returns the memory when a tensor was dropped without Dispose.</summary>
    ~Storage() => Free();
}
