using System.Numerics;

namespace Tensorium;

/// <summary>
/// Reuses freed device buffers by size class (powers of two), so a training loop that frees and
/// re-allocates the same shapes every step stops calling the allocator after the first step.
/// Counters make leaks visible: <see cref="LiveBuffers"/> must not grow from step to step.
/// </summary>
public sealed class BufferPool
{
    private readonly Func<long, nint> _allocate;
    private readonly Action<nint> _free;
    private readonly string _deviceName;
    private readonly Dictionary<long, Stack<nint>> _freeBySize = new();
    private readonly Lock _lock = new();

    internal BufferPool(string deviceName, Func<long, nint> allocate, Action<nint> free)
    {
        _deviceName = deviceName;
        _allocate = allocate;
        _free = free;
    }

    /// <summary>Buffers handed out and not yet returned.</summary>
    public long LiveBuffers { get; private set; }
    /// <summary>Bytes in buffers handed out and not yet returned (rounded up to size classes).</summary>
    public long LiveBytes { get; private set; }
    /// <summary>Bytes held in the pool, free for reuse.</summary>
    public long PooledBytes { get; private set; }

    /// <summary>
    /// The size class a request of <paramref name="bytes"/> is served from: powers of two up to
    /// 1 MiB, then 16 classes per doubling, so a big tensor (a 188 MB data set) wastes at most
    /// 1/16 of its size instead of up to half.
    /// </summary>
    public static long SizeClass(long bytes)
    {
        if (bytes <= 64) return 64;
        long power = (long)BitOperations.RoundUpToPowerOf2((ulong)bytes);
        if (power <= 1 << 20) return power;
        long step = power / 32;   // 16 steps between power/2 and power
        return (bytes + step - 1) / step * step;
    }

    /// <summary>Hands out a buffer of at least <paramref name="bytes"/> bytes.</summary>
    public nint Rent(long bytes)
    {
        long size = SizeClass(bytes);
        lock (_lock)
        {
            LiveBuffers++;
            LiveBytes += size;
            if (_freeBySize.TryGetValue(size, out var stack) && stack.Count > 0)
            {
                PooledBytes -= size;
                return stack.Pop();
            }
        }
        try
        {
            return _allocate(size);
        }
        catch (OutOfMemoryException)
        {
            // Cached buffers of other sizes may be what stands in the way: free them and try once more.
            long pooled = PooledBytes;
            Empty();
            try
            {
                return _allocate(size);
            }
            catch (OutOfMemoryException)
            {
                lock (_lock) { LiveBuffers--; LiveBytes -= size; }
                throw new OutOfMemoryException(
                    $"{_deviceName}: could not allocate {size} bytes even after freeing {pooled} pooled bytes; {LiveBytes} bytes are in use by live tensors.");
            }
        }
    }

    /// <summary>Takes a buffer back for reuse.</summary>
    public void Return(nint buffer, long bytes)
    {
        long size = SizeClass(bytes);
        lock (_lock)
        {
            LiveBuffers--;
            LiveBytes -= size;
            PooledBytes += size;
            if (!_freeBySize.TryGetValue(size, out var stack)) _freeBySize[size] = stack = new Stack<nint>();
            stack.Push(buffer);
        }
    }

    /// <summary>Gives every pooled (free) buffer back to the device allocator.</summary>
    public void Empty()
    {
        lock (_lock)
        {
            foreach (var stack in _freeBySize.Values)
                while (stack.Count > 0) _free(stack.Pop());
            _freeBySize.Clear();
            PooledBytes = 0;
        }
    }
}
