using BenchmarkDotNet.Attributes;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Bench;

/// <summary>
/// Conv2d forward and both backward passes on the bare kernel: batch 64, 32 -> 64 channels,
/// 13x13, 3x3 (the middle layer of the Keras MNIST CNN). GFLOP/s counts 2 N K OH OW C R S per pass.
/// </summary>
public unsafe class ConvBenchmarks : IWorkload
{
    private static readonly Conv2dGeometry G = new(64, 32, 13, 13, 64, 3, 3);
    private float* _x, _w, _b, _y, _dy, _dx, _dw, _db;

    /// <inheritdoc />
    public double Flops(string method) => 2.0 * G.Batch * G.OutChannels * G.OutPlane * G.ColumnRows;

    /// <summary>Each pass touches an input-sized, a weight-sized and an output-sized tensor once.</summary>
    public double MinimumBytes(string method) =>
        4.0 * ((double)G.Batch * G.InChannels * G.InHeight * G.InWidth + (double)G.OutChannels * G.ColumnRows + (double)G.Batch * G.OutChannels * G.OutPlane);

    /// <summary>Inputs, weights and gradients, and the thread count.</summary>
    [GlobalSetup]
    public void Setup()
    {
        CpuParallel.Threads = BenchSettings.Threads;
        long x = (long)G.Batch * G.InChannels * G.InHeight * G.InWidth, w = (long)G.OutChannels * G.ColumnRows, y = (long)G.Batch * G.OutChannels * G.OutPlane;
        _x = NativeBuffers.Random<float>(x);
        _w = NativeBuffers.Random<float>(w);
        _b = NativeBuffers.Random<float>(G.OutChannels);
        _y = NativeBuffers.Random<float>(y);
        _dy = NativeBuffers.Random<float>(y, 7);
        _dx = NativeBuffers.Random<float>(x);
        _dw = NativeBuffers.Random<float>(w);
        _db = NativeBuffers.Random<float>(G.OutChannels);
    }

    /// <summary>Frees the buffers.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var p in new[] { _x, _w, _b, _y, _dy, _dx, _dw, _db }) NativeBuffers.Free(p);
    }

    /// <summary>y = conv(x, w) + b.</summary>
    [Benchmark]
    public void Forward() => Conv2d.Forward(G, _x, _w, _b, _y);

    /// <summary>dx from dy and w.</summary>
    [Benchmark]
    public void BackwardInput() => Conv2d.BackwardInput(G, _dy, _w, _dx);

    /// <summary>dw and db from x and dy.</summary>
    [Benchmark]
    public void BackwardWeight() => Conv2d.BackwardWeight(G, _x, _dy, _dw, _db);
}
