using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text.Json.Nodes;
using Tensorium.Kernels.Cpu;

namespace Tensorium.Profiling;

/// <summary>
/// The two roofs of this CPU for a number of kernel threads, measured rather than read from a data
/// sheet: the FMA peak (independent multiply-add chains in registers) and the memory-copy
/// bandwidth (64 MiB, far past any cache, counting bytes read plus written). The profiler's table
/// and the bench's roofline both compare against these, so they agree.
/// </summary>
/// <remarks>
/// Measuring takes about a second, so <see cref="For"/> measures once per process and thread count
/// and keeps the figures in <see cref="CacheFile"/> (keyed by CPU, vector ISA, core count and
/// thread count: see <see cref="CacheKey"/>); delete that file, or call <see cref="Measure"/>, to measure again (e.g. after a busy
/// neighbour spoiled the first measurement).
/// </remarks>
/// <param name="Threads">The kernel threads both roofs were measured on.</param>
/// <param name="Gflops">FMA peak, in 10⁹ FLOP/s.</param>
/// <param name="CopyGBytesPerSecond">Memory-copy bandwidth, in 10⁹ bytes (read + written) per second.</param>
public sealed record MachinePeaks(int Threads, double Gflops, double CopyGBytesPerSecond)
{
    private static readonly ConcurrentDictionary<int, MachinePeaks> Measured = new();

    /// <summary>FLOP per byte where the two roofs meet: kernels below it are bound by memory, above it by compute.</summary>
    public double Ridge => Gflops / CopyGBytesPerSecond;

    /// <summary>The roofs for the kernel threads in use now (<see cref="CpuParallel.Threads"/>).</summary>
    public static MachinePeaks ForCpu() => For(CpuParallel.Threads);

    /// <summary>
    /// The roofs for <paramref name="threads"/> kernel threads: measured once per process, and read
    /// from (or written to) <see cref="CacheFile"/> when <paramref name="useCacheFile"/> is set.
    /// </summary>
    public static MachinePeaks For(int threads, bool useCacheFile = true)
    {
        if (threads <= 0) throw new ArgumentException($"MachinePeaks: threads must be positive, got {threads}.");
        return Measured.GetOrAdd(threads, t => (useCacheFile ? ReadCache(t) : null) ?? WriteCache(Measure(t), useCacheFile));
    }

    /// <summary>Measures both roofs now on <paramref name="threads"/> threads (about a second), without any cache.</summary>
    /// <remarks>
    /// The width goes to the measuring loops directly: <see cref="CpuParallel.Threads"/> is never
    /// changed, so measurements running at the same time (one per thread count) and every other
    /// kernel keep the user's setting.
    /// </remarks>
    public static MachinePeaks Measure(int threads)
    {
        if (threads <= 0) throw new ArgumentException($"MachinePeaks.Measure: threads must be positive, got {threads}.");
        return new MachinePeaks(threads, MeasureGflops(threads), MeasureCopy(threads));
    }

    /// <summary>
    /// Where measured roofs are kept between processes: tensorium/machine-peaks.json under the
    /// user's cache folder ($XDG_CACHE_HOME or ~/.cache; the local application data folder on Windows).
    /// </summary>
    public static string CacheFile
    {
        get
        {
            string? root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (string.IsNullOrEmpty(root))
                root = OperatingSystem.IsWindows()
                    ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData)
                    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(root, "tensorium", "machine-peaks.json");
        }
    }

    /// <summary>
    /// Copies <paramref name="bytes"/> bytes (so reads and writes that many), split across the
    /// kernel threads: what this machine streams, the reference for bandwidth-bound kernels.
    /// </summary>
    public static unsafe void Copy(void* source, void* destination, long bytes) => Copy(source, destination, bytes, CpuParallel.Threads);

    /// <summary><see cref="Copy(void*, void*, long)"/> split across <paramref name="threads"/> threads.</summary>
    private static unsafe void Copy(void* source, void* destination, long bytes, int threads)
    {
        long part = ((bytes + threads - 1) / threads + 63) & ~63L;   // cache-line multiples: no line written by two threads
        CpuParallel.ForOnThreads(threads, threads, t =>
        {
            long start = t * part, count = Math.Min(part, bytes - start);
            if (count > 0) Buffer.MemoryCopy((byte*)source + start, (byte*)destination + start, count, count);
        });
    }

    // ------------------------------------------------------------------------------------------
    // Measuring
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Every thread runs independent FMA chains in registers; the sum of their rates, best of ten
    /// short tries spread over about a second (on a shared machine a neighbour's burst can halve one).
    /// </summary>
    private static double MeasureGflops(int threads)
    {
        double best = 0;
        for (int attempt = 0; attempt < 10; attempt++, Thread.Sleep(50))
        {
            var rates = new double[threads];
            CpuParallel.ForOnThreads(threads, threads, t =>
            {
                const long steps = 20_000_000;
                long start = Stopwatch.GetTimestamp();
                int flopsPerStep = FmaChains(steps, out float sink);
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                rates[t] = sink == 12345 ? 0 : steps * flopsPerStep / seconds / 1e9;   // sink keeps the loop alive
            });
            best = Math.Max(best, rates.Sum());
        }
        return best;
    }

    /// <summary>
    /// Twelve independent multiply-add chains (enough to cover FMA latency on two pipes) in the
    /// widest vectors the GEMM kernel uses here; returns the FLOP per step.
    /// A separate method, so nothing around it (the timer calls) pushes the chains out of registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int FmaChains(long steps, out float sink)
    {
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
        {
            Vector512<float> x = Vector512.Create(1.0000001f), y = Vector512.Create(0.9999999f);
            Vector512<float> c0 = x, c1 = x, c2 = x, c3 = x, c4 = x, c5 = x, c6 = x, c7 = x, c8 = x, c9 = x, c10 = x, c11 = x;
            for (long i = 0; i < steps; i++)
            {
                c0 = Vector512.FusedMultiplyAdd(c0, y, x); c1 = Vector512.FusedMultiplyAdd(c1, y, x); c2 = Vector512.FusedMultiplyAdd(c2, y, x);
                c3 = Vector512.FusedMultiplyAdd(c3, y, x); c4 = Vector512.FusedMultiplyAdd(c4, y, x); c5 = Vector512.FusedMultiplyAdd(c5, y, x);
                c6 = Vector512.FusedMultiplyAdd(c6, y, x); c7 = Vector512.FusedMultiplyAdd(c7, y, x); c8 = Vector512.FusedMultiplyAdd(c8, y, x);
                c9 = Vector512.FusedMultiplyAdd(c9, y, x); c10 = Vector512.FusedMultiplyAdd(c10, y, x); c11 = Vector512.FusedMultiplyAdd(c11, y, x);
            }
            sink = (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11)[0];
            return 12 * 2 * Vector512<float>.Count;
        }
        else
        {
            Vector256<float> x = Vector256.Create(1.0000001f), y = Vector256.Create(0.9999999f);
            Vector256<float> c0 = x, c1 = x, c2 = x, c3 = x, c4 = x, c5 = x, c6 = x, c7 = x, c8 = x, c9 = x, c10 = x, c11 = x;
            for (long i = 0; i < steps; i++)
            {
                c0 = Vector256.FusedMultiplyAdd(c0, y, x); c1 = Vector256.FusedMultiplyAdd(c1, y, x); c2 = Vector256.FusedMultiplyAdd(c2, y, x);
                c3 = Vector256.FusedMultiplyAdd(c3, y, x); c4 = Vector256.FusedMultiplyAdd(c4, y, x); c5 = Vector256.FusedMultiplyAdd(c5, y, x);
                c6 = Vector256.FusedMultiplyAdd(c6, y, x); c7 = Vector256.FusedMultiplyAdd(c7, y, x); c8 = Vector256.FusedMultiplyAdd(c8, y, x);
                c9 = Vector256.FusedMultiplyAdd(c9, y, x); c10 = Vector256.FusedMultiplyAdd(c10, y, x); c11 = Vector256.FusedMultiplyAdd(c11, y, x);
            }
            sink = (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11)[0];
            return 12 * 2 * Vector256<float>.Count;
        }
    }

    /// <summary>Best of five copies of 64 MiB (far past any cache) on <paramref name="threads"/> threads: bytes read plus written per second.</summary>
    private static unsafe double MeasureCopy(int threads)
    {
        const int bytes = 64 << 20;
        void* source = NativeMemory.AlignedAlloc(bytes, 64), destination = NativeMemory.AlignedAlloc(bytes, 64);
        try
        {
            new Span<byte>(source, bytes).Fill(1);
            new Span<byte>(destination, bytes).Clear();
            double best = double.MaxValue;
            for (int i = 0; i < 5; i++)
            {
                long start = Stopwatch.GetTimestamp();
                Copy(source, destination, bytes, threads);
                best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
            return 2.0 * bytes / best / 1e9;
        }
        finally
        {
            NativeMemory.AlignedFree(source);
            NativeMemory.AlignedFree(destination);
        }
    }

    // ------------------------------------------------------------------------------------------
    // The cache file: { "<CPU>|<vector ISA>|<cores> cores|<threads> threads": { "gflops": ..., "copy_gbytes_per_second": ... } }
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// What the figures depend on: the CPU (a VM may move to another between runs), the widest
    /// vectors the kernels use on it, its cores and the threads.
    /// </summary>
    /// <remarks>
    /// A VM's model name can be as vague as "AMD EPYC" for an AVX2-only Zen 3 and an AVX-512
    /// Zen 4 alike, so the key adds the CPU's family, model and stepping and the vector ISA:
    /// with the name alone, one machine's cached roofs were read on the other.
    /// </remarks>
    internal static string CacheKey(int threads) => $"{CpuName()}|{VectorIsa()}|{Environment.ProcessorCount} cores|{threads} threads";

    /// <summary>The CPU's model name, with its family, model and stepping where /proc/cpuinfo gives them.</summary>
    private static string CpuName()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var fields = new Dictionary<string, string>();
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                {
                    if (line.Length == 0) break; // the first processor's block is enough
                    int colon = line.IndexOf(':');
                    if (colon > 0) fields.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim());
                }
                if (fields.TryGetValue("model name", out var name))
                    return fields.TryGetValue("cpu family", out var family) && fields.TryGetValue("model", out var model)
                        ? $"{name} (family {family}, model {model}, stepping {fields.GetValueOrDefault("stepping", "?")})"
                        : name;
            }
        }
        catch (IOException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>The widest vectors the FMA peak is measured in (see <see cref="FmaChains"/>).</summary>
    private static string VectorIsa() =>
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? "AVX-512"
        : Avx2.IsSupported ? "AVX2"
        : Vector256.IsHardwareAccelerated ? "256-bit" : "128-bit";

    private static MachinePeaks? ReadCache(int threads)
    {
        try
        {
            if (!File.Exists(CacheFile) || JsonNode.Parse(File.ReadAllText(CacheFile))?[CacheKey(threads)] is not JsonObject entry) return null;
            double gflops = entry["gflops"]?.GetValue<double>() ?? 0, copy = entry["copy_gbytes_per_second"]?.GetValue<double>() ?? 0;
            return gflops > 0 && copy > 0 ? new MachinePeaks(threads, gflops, copy) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            return null;   // an unreadable cache is measured again and rewritten
        }
    }

    private static MachinePeaks WriteCache(MachinePeaks peaks, bool useCacheFile)
    {
        if (!useCacheFile) return peaks;
        try
        {
            JsonObject all;
            try { all = File.Exists(CacheFile) ? JsonNode.Parse(File.ReadAllText(CacheFile)) as JsonObject ?? new JsonObject() : new JsonObject(); }
            catch (System.Text.Json.JsonException) { all = new JsonObject(); }
            all[CacheKey(peaks.Threads)] = new JsonObject { ["gflops"] = peaks.Gflops, ["copy_gbytes_per_second"] = peaks.CopyGBytesPerSecond };
            Directory.CreateDirectory(Path.GetDirectoryName(CacheFile)!);
            string temporary = CacheFile + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
            File.WriteAllText(temporary, all.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            File.Move(temporary, CacheFile, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No writable cache folder: the figures still serve this process.
        }
        return peaks;
    }
}
