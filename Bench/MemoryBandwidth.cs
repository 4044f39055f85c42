using Tensorium.Kernels.Cpu;

namespace Tensorium.Bench;

/// <summary>
/// The reference for bandwidth-bound kernels: a plain memory copy on the same threads, measured in
/// the same run. Its GB/s is what this machine streams (reading and writing), next to the
/// bandwidth-bound kernels' own GB/s.
/// </summary>
public static unsafe class MemoryBandwidth
{
    /// <summary>Copies <paramref name="bytes"/> bytes (so reads and writes that many), split across the kernel threads.</summary>
    public static void Copy(void* source, void* destination, long bytes)
    {
        int threads = CpuParallel.Threads;
        long part = ((bytes + threads - 1) / threads + 63) & ~63L;   // cache-line multiples: no line written by two threads
        CpuParallel.For(threads, t =>
        {
            long start = t * part, count = Math.Min(part, bytes - start);
            if (count > 0) Buffer.MemoryCopy((byte*)source + start, (byte*)destination + start, count, count);
        });
    }
}
