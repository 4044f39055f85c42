using System.Numerics;

namespace Tensorium;

/// <summary>
/// Reuses freed device buffers by size class (powers of two), so a training loop that frees and
/// re-allocates the same shapes every step stops calling the allocator after the first step.
/// Counters make leaks visible: <see cref="LiveBuffers"/> must not grow from step to step.
/// </summary>
/// <remarks>
/// What the pool keeps is bounded: at most <see cref="MaxPooledRatio"/> times the live peak
/// (<see cref="PeakLiveBytes"/>), and at most <see cref="MaxPooledBytes"/> when that is set. When a
/// returned buffer takes the pool over the cap, buffers of the size classes used least recently
/// go back to the device allocator; a size class left unused for <see cref="MaxIdleOperations"/>
/// rents and returns goes back even under the cap. Why: without a cap, a tensor that grows a
/// little every step left every old size behind (1.1 GB pooled for 64 MB live), and on Linux the
/// process is killed before an allocation ever fails, so freeing the pool on out-of-memory came
/// too late.
/// </remarks>
public sealed class BufferPool
{
    /// <summary>The free buffers of one size class, and when that class was last rented or returned.</summary>
    private sealed class SizeClassBuffers
    {
        public readonly Stack<nint> Buffers = new();
        public long LastUsed;
    }

    private readonly Func<long, nint> _allocate;
    private readonly Action<nint> _free;
    private readonly string _deviceName;
    private readonly Dictionary<long, SizeClassBuffers> _freeBySize = new();
    private readonly Lock _lock = new();
    private long _clock;   // counts rents and returns; orders size classes by last use
    private long _nextIdleCheck;
    private double _maxPooledRatio = 2;
    private long? _maxPooledBytes;
    private long? _maxIdleOperations = 100_000;

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
    /// <summary>The most <see cref="LiveBytes"/> has been since the pool was made or <see cref="ResetPeak"/>.</summary>
    public long PeakLiveBytes { get; private set; }

    /// <summary>
    /// The pool keeps at most this many times <see cref="PeakLiveBytes"/> in free buffers (default
    /// 2; 0 keeps nothing). Lowering it gives the excess back at once.
    /// </summary>
    public double MaxPooledRatio
    {
        get => _maxPooledRatio;
        set
        {
            if (!(value >= 0 && double.IsFinite(value)))
                throw new ArgumentOutOfRangeException(nameof(value), $"{_deviceName} pool: got a MaxPooledRatio of {value}; expected a finite number, 0 or more.");
            lock (_lock) { _maxPooledRatio = value; Trim(); }
        }
    }

    /// <summary>
    /// An absolute limit on <see cref="PooledBytes"/> on top of <see cref="MaxPooledRatio"/>, or null
    /// for none (the default). Lowering it gives the excess back at once.
    /// </summary>
    public long? MaxPooledBytes
    {
        get => _maxPooledBytes;
        set
        {
            if (value < 0)
                throw new ArgumentOutOfRangeException(nameof(value), $"{_deviceName} pool: got a MaxPooledBytes of {value}; expected 0 or more, or null for no limit.");
            lock (_lock) { _maxPooledBytes = value; Trim(); }
        }
    }

    /// <summary>
    /// A size class that no rent or return has touched in this many pool operations is given back
    /// even when the pool is under its cap (default 100,000, while a training step makes a few
    /// hundred), so sizes from a finished phase do not stay forever; null keeps them.
    /// </summary>
    public long? MaxIdleOperations
    {
        get => _maxIdleOperations;
        set
        {
            if (value < 0)
                throw new ArgumentOutOfRangeException(nameof(value), $"{_deviceName} pool: got a MaxIdleOperations of {value}; expected 0 or more, or null to keep idle buffers.");
            lock (_lock) { _maxIdleOperations = value; _nextIdleCheck = 0; Trim(); }
        }
    }

    /// <summary>How many bytes the pool may keep now: the smaller of the two limits.</summary>
    public long PooledLimit
    {
        get
        {
            lock (_lock) return Limit();
        }
    }

    /// <summary>
    /// Starts a new live peak from the current <see cref="LiveBytes"/> (after a phase that needed
    /// much more memory than what follows), and gives back what the lower cap no longer allows.
    /// </summary>
    public void ResetPeak()
    {
        lock (_lock) { PeakLiveBytes = LiveBytes; Trim(); }
    }

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
            if (_freeBySize.TryGetValue(size, out var sizeClass) && sizeClass.Buffers.Count > 0)
            {
                PooledBytes -= size;
                CountRented(size);
                nint reused = sizeClass.Buffers.Pop();
                // Only classes that hold buffers stay listed, so Trim always finds one to free.
                if (sizeClass.Buffers.Count == 0) _freeBySize.Remove(size);
                else sizeClass.LastUsed = _clock;
                return reused;
            }
        }
        // Allocate outside the lock (a device allocation can be slow), and count the buffer only
        // once it exists, so a failed allocation leaves the counters as they were.
        nint buffer = Allocate(size);
        lock (_lock) CountRented(size);
        return buffer;
    }

    /// <summary>Takes a buffer back for reuse, or frees it when the pool is full.</summary>
    public void Return(nint buffer, long bytes)
    {
        long size = SizeClass(bytes);
        lock (_lock)
        {
            LiveBuffers--;
            LiveBytes -= size;
            PooledBytes += size;
            if (!_freeBySize.TryGetValue(size, out var sizeClass)) _freeBySize[size] = sizeClass = new SizeClassBuffers();
            sizeClass.Buffers.Push(buffer);
            sizeClass.LastUsed = ++_clock;
            Trim();
        }
    }

    /// <summary>Gives every pooled (free) buffer back to the device allocator.</summary>
    public void Empty()
    {
        lock (_lock)
        {
            foreach (var sizeClass in _freeBySize.Values)
                while (sizeClass.Buffers.Count > 0) _free(sizeClass.Buffers.Pop());
            _freeBySize.Clear();
            PooledBytes = 0;
        }
    }

    private nint Allocate(long size)
    {
        try
        {
            return _allocate(size);
        }
        catch (OutOfMemoryException)
        {
            // Cached buffers of other sizes may be what stands in the way: free them and try once more.
            long pooled;
            lock (_lock) pooled = PooledBytes;
            Empty();
            try
            {
                return _allocate(size);
            }
            catch (OutOfMemoryException)
            {
                throw new OutOfMemoryException(
                    $"{_deviceName}: could not allocate {size} bytes even after freeing {pooled} pooled bytes; {LiveBytes} bytes are in use by live tensors.");
            }
        }
    }

    // Callers hold _lock.
    private void CountRented(long size)
    {
        _clock++;
        LiveBuffers++;
        LiveBytes += size;
        PeakLiveBytes = Math.Max(PeakLiveBytes, LiveBytes);
    }

    // Callers hold _lock.
    private long Limit()
    {
        double byRatio = _maxPooledRatio * PeakLiveBytes;
        long limit = byRatio >= long.MaxValue ? long.MaxValue : (long)byRatio;
        return Math.Min(limit, _maxPooledBytes ?? long.MaxValue);
    }

    // Callers hold _lock. Frees buffers of the least recently used size class until the pool is
    // within its limit; the class just returned to is the most recent, so it goes last. Every
    // 1024 operations it also frees the classes idle for longer than MaxIdleOperations.
    private void Trim()
    {
        if (_maxIdleOperations is long idle && _clock >= _nextIdleCheck)
        {
            _nextIdleCheck = _clock + 1024;   // a scan of all classes is cheap, but not on every return
            foreach (var (size, stale) in _freeBySize.Where(entry => _clock - entry.Value.LastUsed > idle).ToList())
            {
                PooledBytes -= size * stale.Buffers.Count;
                while (stale.Buffers.Count > 0) _free(stale.Buffers.Pop());
                _freeBySize.Remove(size);
            }
        }
        long limit = Limit();
        while (PooledBytes > limit)
        {
            var (size, oldest) = _freeBySize.MinBy(entry => entry.Value.LastUsed);
            _free(oldest.Buffers.Pop());
            PooledBytes -= size;
            if (oldest.Buffers.Count == 0) _freeBySize.Remove(size);
        }
    }
}
