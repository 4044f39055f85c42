using BenchmarkDotNet.Attributes;
using Tensorium.Kernels.Cpu;
using Tensorium.Profiling;

namespace Tensorium.Bench;

/// <summary>
/// Softmax over the last axis of 4096x1024 floats. Bandwidth-bound: GB/s counts reading the
/// input once and writing the output once (backward: y and dy in, dx out). Goal: forward within 2x
/// of the time those bytes take at about 40 GB/s (so at least 20 in the GB/s column). MemoryCopy
/// moves the forward's bytes as a plain copy in the same run: what main memory gives here.
/// </summary>
public unsafe class SoftmaxBenchmarks : IWorkload
{
    private const int Rows = 4096, Cols = 1024;
    private float* _x, _y, _dy, _dx;

    /// <inheritdoc />
    public double Bytes(string method) => 4.0 * Rows * Cols * (method.StartsWith("Backward") ? 3 : 2);   // MemoryCopy: 2

    /// <summary>Buffers and thread count.</summary>
    [GlobalSetup]
    public void Setup()
    {
        CpuParallel.Threads = BenchSettings.Threads;
        _x = NativeBuffers.Random<float>((long)Rows * Cols);
        _y = NativeBuffers.Random<float>((long)Rows * Cols);
        _dy = NativeBuffers.Random<float>((long)Rows * Cols, 7);
        _dx = NativeBuffers.Random<float>((long)Rows * Cols);
        Softmax.Forward(_x, _y, Rows, Cols);
    }

    /// <summary>Frees the buffers.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var p in new[] { _x, _y, _dy, _dx }) NativeBuffers.Free(p);
    }

    /// <summary>Reference: copies x (the bytes softmax reads) into a buffer of the same size.</summary>
    [Benchmark(Baseline = true)]
    public void MemoryCopy() => MachinePeaks.Copy(_x, _dx, 4L * Rows * Cols);

    /// <summary>y = softmax(x).</summary>
    [Benchmark]
    public void Forward() => Softmax.Forward(_x, _y, Rows, Cols);

    /// <summary>y = log_softmax(x).</summary>
    [Benchmark]
    public void LogForward() => Softmax.LogForward(_x, _y, Rows, Cols);

    /// <summary>dx = y (dy - sum(dy y)).</summary>
    [Benchmark]
    public void Backward() => Softmax.Backward(_y, _dy, _dx, Rows, Cols);
}
