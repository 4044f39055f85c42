using Tensorium.Kernels.Cpu;

namespace Tensorium.Bench;

/// <summary>
/// GEMM against OpenBLAS, timed in alternating rounds in one process (<c>./build.sh bench
/// --alternating</c>; see <see cref="AlternatingRounds"/> for why).
/// </summary>
public static unsafe class AlternatingGemm
{
    /// <summary>The GEMM benchmark's shapes with a speed goal: single products of 512 rows or more.</summary>
    private static readonly GemmShape[] Shapes = [.. GemmBenchmarks.Shapes.Where(s => s.Batch == 1 && s.M >= 512)];

    /// <summary>
    /// Prints, per shape, the median GFLOP/s of each library and their ratio, then the median and
    /// the spread of the middle rounds' own ratios (see <see cref="AlternatingResult"/>), and draws
    /// them (<see cref="AlternatingChart"/>).
    /// </summary>
    public static void Run()
    {
        int threads = BenchSettings.Threads;
        CpuParallel.Threads = threads;
        OpenBlas.SetThreads(threads);
        Console.WriteLine($"GEMM, {threads} threads, {AlternatingRounds.Rounds} alternating rounds per shape (medians)");
        Console.WriteLine("GFLOP/s; ratio of the medians, then the median and spread (3rd to 9th of 11) of the rounds' own ratios");
        Console.WriteLine($"{"shape",-16} {"Tensorium",10} {"OpenBLAS",10} {"ratio",7} {"rounds",8} {"middle",11}");
        var results = new List<(string, AlternatingResult)>();
        foreach (var (_, m, n, k) in Shapes)
        {
            float* a = NativeBuffers.Random<float>((long)m * k), b = NativeBuffers.Random<float>((long)k * n, 7);
            float* c = NativeBuffers.Random<float>((long)m * n);
            double flops = 2.0 * m * n * k;
            string shape = $"{m}x{n}x{k}";
            // At least 3e10 flops (about 0.2 s) per timing where a call is smaller, so one timing
            // spans many scheduler ticks.
            int calls = (int)Math.Ceiling(3e10 / flops);
            var r = AlternatingRounds.Run(shape,
                AlternatingRounds.Timer(() => Gemm.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n), calls),
                AlternatingRounds.Timer(() => OpenBlas.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n), calls));
            double oursRate = flops / r.OursSeconds / 1e9, referenceRate = flops / r.ReferenceSeconds / 1e9;
            Console.WriteLine($"{shape,-16} {oursRate,10:F1} {referenceRate,10:F1} {r.Ratio,7:F3} {r.RoundRatio,8:F3} {$"{r.LowRatio:F2}-{r.HighRatio:F2}",11}");
            foreach (var p in new[] { a, b, c }) NativeBuffers.Free(p);
            results.Add((shape, r));
        }
        string chart = AlternatingChart.Write("alternating-gemm", $"GEMM, Tensorium vs OpenBLAS: {threads} threads, {AlternatingRounds.Rounds} alternating rounds per shape",
            "OpenBLAS", 1, results);
        Console.WriteLine($"chart: {chart}");
    }
}
