using System.Diagnostics;
using Tensorium.Kernels.Cpu;

namespace Tensorium.Bench;

/// <summary>
/// GEMM against OpenBLAS, timed in alternation in one process (<c>./build.sh bench --alternating</c>).
/// </summary>
/// <remarks>
/// <para>Why besides BenchmarkDotNet: BenchmarkDotNet times each library in its own process, one
/// after the other (see <see cref="PairedOrderer"/>), for 7 iterations each, and on a shared 2-core
/// VM the machine's speed drifts by 10-25% from second to second, so one such pair carries that
/// drift. Here every round times both libraries back to back, and the ratio of the medians over
/// many rounds cancels it.</para>
/// <para>A pause follows every timing: OpenBLAS's threads keep spinning for a while after a call
/// returns, and whichever library runs next would otherwise share its cores with them (that
/// made Tensorium look 5-15% slower in an earlier version of this harness). Tensorium's workers
/// spin for 0.5 ms, and the pause covers that too.</para>
/// </remarks>
public static unsafe class AlternatingGemm
{
    private const int Rounds = 11;

    /// <summary>The GEMM benchmark's shapes with a speed goal: single products of 512 rows or more.</summary>
    private static readonly GemmShape[] Shapes = [.. GemmBenchmarks.Shapes.Where(s => s.Batch == 1 && s.M >= 512)];

    /// <summary>
    /// Prints, per shape, the median GFLOP/s of each library and their ratio, then the median and
    /// the middle half (25th to 75th percentile) of the rounds' own ratios.
    /// </summary>
    public static void Run()
    {
        int threads = BenchSettings.Threads;
        CpuParallel.Threads = threads;
        OpenBlas.SetThreads(threads);
        Console.WriteLine($"GEMM, {threads} threads, {Rounds} alternating rounds per shape (medians)");
        Console.WriteLine("GFLOP/s; ratio of the medians, then the median and middle half of the rounds' own ratios");
        Console.WriteLine($"{"shape",-16} {"Tensorium",10} {"OpenBLAS",10} {"ratio",7} {"rounds",8} {"middle",11}");
        foreach (var (_, m, n, k) in Shapes)
        {
            float* a = NativeBuffers.Random<float>((long)m * k), b = NativeBuffers.Random<float>((long)k * n, 7);
            float* c = NativeBuffers.Random<float>((long)m * n);
            double flops = 2.0 * m * n * k;
            // At least 3e10 flops (about 0.2 s) per timing where a call is smaller, so one timing
            // spans many scheduler ticks.
            int calls = Math.Max(1, (int)(3e10 / flops));
            var ours = Times(() => Gemm.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n), calls);
            var reference = Times(() => OpenBlas.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n), calls);
            var oursTimes = new List<double>();
            var referenceTimes = new List<double>();
            for (int round = 0; round < Rounds; round++)
            {
                // Alternate which library goes first, so neither always follows the other.
                if (round % 2 == 0) { referenceTimes.Add(reference()); oursTimes.Add(ours()); }
                else { oursTimes.Add(ours()); referenceTimes.Add(reference()); }
                Console.Error.Write($"\r{m}x{n}x{k}: round {round + 1}/{Rounds}");
            }
            Console.Error.Write("\r" + new string(' ', 40) + "\r");
            double oursRate = flops / Median(oursTimes) / 1e9, referenceRate = flops / Median(referenceTimes) / 1e9;
            // Each round's own ratio, from two timings taken back to back: their spread shows how
            // much the machine drifted while this shape ran.
            var ratios = referenceTimes.Zip(oursTimes, (r, o) => r / o).ToList();
            ratios.Sort();
            string spread = $"{ratios[ratios.Count / 4]:F2}-{ratios[ratios.Count * 3 / 4]:F2}";
            Console.WriteLine($"{$"{m}x{n}x{k}",-16} {oursRate,10:F1} {referenceRate,10:F1} {oursRate / referenceRate,7:F3} {Median(ratios),8:F3} {spread,11}");
            foreach (var p in new[] { a, b, c }) NativeBuffers.Free(p);
        }
    }

    /// <summary>A timer for <paramref name="gemm"/>: seconds per call over <paramref name="calls"/> calls, after a warm-up call and before a pause.</summary>
    private static Func<double> Times(Action gemm, int calls) => () =>
    {
        gemm();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < calls; i++) gemm();
        double seconds = clock.Elapsed.TotalSeconds / calls;
        Thread.Sleep(200);
        return seconds;
    };

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
