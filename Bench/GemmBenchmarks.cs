using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Tensorium.Kernels.Cpu;

namespace Tensorium.Bench;

/// <summary>One GEMM problem: batch x (m x k) @ (k x n), row-major, no transposes.</summary>
public sealed record GemmShape(int Batch, int M, int N, int K)
{
    /// <summary>Shown in the summary's Shape column, e.g. "512x3072x768" or "48x128x64x128" (batch first).</summary>
    public override string ToString() => Batch == 1 ? $"{M}x{N}x{K}" : $"{Batch}x{M}x{K}x{N}";
}

/// <summary>
/// Float32 GEMM, Tensorium against OpenBLAS (the ratio baseline) in the same run and with the same
/// thread count. The batched shape is attention-like (48 heads x (128x64 @ 64x128)); OpenBLAS has
/// no strided-batch call, so its side is a loop of cblas_sgemm, which is what a user would write.
/// </summary>
[CategoriesColumn]
public unsafe class GemmBenchmarks : IWorkload
{
    /// <summary>Square sizes from cache-resident to L3-spilling, the two big transformer-layer products, and a batch.</summary>
    public static IEnumerable<GemmShape> Shapes =>
    [
        new(1, 64, 64, 64), new(1, 128, 128, 128), new(1, 256, 256, 256), new(1, 512, 512, 512),
        new(1, 1024, 1024, 1024), new(1, 2048, 2048, 2048),
        new(1, 4096, 768, 768),   // tokens x d_model x d_model: attention projections
        new(1, 512, 3072, 768),   // tokens x d_ff x d_model: MLP up-projection
        new(48, 128, 128, 64),    // heads x (seq x head_dim @ head_dim x seq): attention scores
    ];

    /// <summary>The problem being measured.</summary>
    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = new(1, 64, 64, 64);

    private float* _a, _b, _c;

    /// <summary>2 m n k floating-point operations per matrix product.</summary>
    public double Flops(string method) => 2.0 * Shape.Batch * Shape.M * Shape.N * Shape.K;

    /// <summary>A and B read once, C written once.</summary>
    public double MinimumBytes(string method) => 4.0 * Shape.Batch * ((double)Shape.M * Shape.K + (double)Shape.K * Shape.N + (double)Shape.M * Shape.N);

    /// <summary>Allocates 64-byte aligned inputs filled with values in [-1, 1), and sets both libraries' thread counts.</summary>
    [GlobalSetup]
    public void Setup()
    {
        int threads = BenchSettings.Threads;
        CpuParallel.Threads = threads;
        OpenBlas.SetThreads(threads);
        _a = Alloc((long)Shape.Batch * Shape.M * Shape.K);
        _b = Alloc((long)Shape.Batch * Shape.K * Shape.N);
        _c = Alloc((long)Shape.Batch * Shape.M * Shape.N);
        var rng = new Random(42);
        for (long i = 0; i < (long)Shape.Batch * Shape.M * Shape.K; i++) _a[i] = (float)(rng.NextDouble() * 2 - 1);
        for (long i = 0; i < (long)Shape.Batch * Shape.K * Shape.N; i++) _b[i] = (float)(rng.NextDouble() * 2 - 1);
    }

    private static float* Alloc(long count)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);
        new Span<float>(p, (int)count).Clear();
        return p;
    }

    /// <summary>Frees the matrices.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_a);
        NativeMemory.AlignedFree(_b);
        NativeMemory.AlignedFree(_c);
        _a = _b = _c = null;
    }

    /// <summary>OpenBLAS cblas_sgemm (a loop of them for a batch).</summary>
    [Benchmark(Baseline = true), BenchmarkCategory(BenchSettings.ReferenceCategory)]
    public void OpenBlasSgemm()
    {
        var (batch, m, n, k) = (Shape.Batch, Shape.M, Shape.N, Shape.K);
        for (int i = 0; i < batch; i++)
            OpenBlas.Sgemm(false, false, m, n, k, 1f, _a + (long)i * m * k, k, _b + (long)i * k * n, n, 0f, _c + (long)i * m * n, n);
    }

    /// <summary>Tensorium's Gemm.Sgemm, or Gemm.SgemmBatched for a batch.</summary>
    [Benchmark]
    public void TensoriumSgemm()
    {
        var (batch, m, n, k) = (Shape.Batch, Shape.M, Shape.N, Shape.K);
        if (batch == 1)
            Gemm.Sgemm(false, false, m, n, k, 1f, _a, k, _b, n, 0f, _c, n);
        else
            Gemm.SgemmBatched(batch, false, false, m, n, k, 1f, _a, k, (long)m * k, _b, n, (long)k * n, 0f, _c, n, (long)m * n);
    }
}
