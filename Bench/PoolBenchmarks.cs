using BenchmarkDotNet.Attributes;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;
using Tensorium.Profiling;

namespace Tensorium.Bench;

/// <summary>
/// Max-pool 2x2 stride 2 on 64x32x26x26 (the CNN's first pool). Bandwidth-bound: GB/s counts
/// the bytes read and written once (input, output, int32 argmax; in backward the gradients).
/// Goal: within 2x of the time those bytes take at about 40 GB/s (so at least 20 in the GB/s
/// column). MemoryCopy moves as many bytes as a plain copy in the same run; these 8 MB fit in L3,
/// so it shows the cache's bandwidth rather than main memory's.
/// </summary>
public unsafe class PoolBenchmarks : IWorkload
{
    private static readonly Pool2dGeometry G = new(64, 32, 26, 26, 2, 2, 2, 2);
    private float* _x, _y, _dy, _dx;
    private int* _argmax;

    private static long InCount => (long)G.Batch * G.Channels * G.InHeight * G.InWidth;
    private static long OutCount => (long)G.Batch * G.Channels * G.OutHeight * G.OutWidth;

    /// <inheritdoc />
    public double Bytes(string method) => 4.0 * (InCount + 2 * OutCount);

    /// <summary>Input and gradient buffers; runs one forward so backward has real argmax values.</summary>
    [GlobalSetup]
    public void Setup()
    {
        CpuParallel.Threads = BenchSettings.Threads;
        _x = NativeBuffers.Random<float>(InCount);
        _y = NativeBuffers.Random<float>(OutCount);
        _dy = NativeBuffers.Random<float>(OutCount, 7);
        _dx = NativeBuffers.Random<float>(InCount);
        _argmax = NativeBuffers.Random<int>(OutCount);
        MaxPool2d.Forward(G, _x, _y, _argmax);
    }

    /// <summary>Frees the buffers.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var p in new[] { _x, _y, _dy, _dx }) NativeBuffers.Free(p);
        NativeBuffers.Free(_argmax);
    }

    /// <summary>Reference: a plain copy reading and writing as many bytes as the pool does in all.</summary>
    [Benchmark(Baseline = true)]
    public void MemoryCopy() => MachinePeaks.Copy(_x, _dx, 2 * (InCount + 2 * OutCount));

    /// <summary>Pooled output and argmax.</summary>
    [Benchmark]
    public void Forward() => MaxPool2d.Forward(G, _x, _y, _argmax);

    /// <summary>Input gradient routed through argmax.</summary>
    [Benchmark]
    public void Backward() => MaxPool2d.Backward(G, _dy, _argmax, _dx);
}
