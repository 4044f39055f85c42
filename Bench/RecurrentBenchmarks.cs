using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Bench;

/// <summary>
/// One recurrent layer over a whole sequence, forward (with the cache backward needs, as in
/// training) and backward through time: batch 64, 28 steps, 128 inputs, 128 units (the second
/// layer of the LSTM example), LSTM and GRU. GFLOP/s counts the GEMMs: 2 B T G H (In + H)
/// forward, twice that backward (dX, dW_ih, dW_hh and each step's dh); the gate arithmetic is
/// left out.
/// </summary>
public unsafe class RecurrentBenchmarks : IWorkload
{
    private const int Batch = 64, Steps = 28, Input = 128, Hidden = 128;
    private float* _x, _wIh, _wHh, _bIh, _bHh, _h0, _c0, _y, _cache, _dy, _dx, _dWIh, _dWHh, _dBIh, _dBHh;

    /// <summary>The cell the layer repeats.</summary>
    [Params(RecurrentCell.Lstm, RecurrentCell.Gru)]
    public RecurrentCell Cell { get; set; }

    private RecurrentGeometry Geometry => new(Cell, Batch, Steps, Input, Hidden);

    /// <inheritdoc />
    public double Flops(string method) =>
        (method == nameof(Backward) ? 4.0 : 2.0) * Batch * Steps * Geometry.GateWidth * (Input + Hidden);

    /// <summary>Forward: input, weights, outputs and cache once. Backward adds dy, dx and the weight gradients.</summary>
    public double MinimumBytes(string method)
    {
        var g = Geometry;
        double x = (double)Batch * Steps * Input, w = (double)g.GateWidth * (Input + Hidden);
        double y = (double)g.States * Batch * Steps * Hidden, cache = (double)Batch * Steps * g.CacheWidth;
        double forward = x + w + y + cache;
        return 4.0 * (method == nameof(Backward) ? forward + y + x + w : forward);
    }

    /// <summary>Inputs, weights, gradients, and one forward so backward reads a real cache.</summary>
    [GlobalSetup]
    public void Setup()
    {
        CpuParallel.Threads = BenchSettings.Threads;
        var g = Geometry;
        long x = (long)Batch * Steps * Input, state = (long)Batch * Hidden, y = (long)g.States * Batch * Steps * Hidden;
        _x = NativeBuffers.Random<float>(x, 1);
        _dx = NativeBuffers.Random<float>(x);
        // Weights in [-1/sqrt(H), 1/sqrt(H)), PyTorch's initialisation, so the gates do not saturate.
        float scale = 1 / MathF.Sqrt(Hidden);
        _wIh = Scaled(NativeBuffers.Random<float>((long)g.GateWidth * Input, 2), (long)g.GateWidth * Input, scale);
        _wHh = Scaled(NativeBuffers.Random<float>((long)g.GateWidth * Hidden, 3), (long)g.GateWidth * Hidden, scale);
        _bIh = Scaled(NativeBuffers.Random<float>(g.GateWidth, 4), g.GateWidth, scale);
        _bHh = Scaled(NativeBuffers.Random<float>(g.GateWidth, 5), g.GateWidth, scale);
        _dWIh = NativeBuffers.Random<float>((long)g.GateWidth * Input);
        _dWHh = NativeBuffers.Random<float>((long)g.GateWidth * Hidden);
        _dBIh = NativeBuffers.Random<float>(g.GateWidth);
        _dBHh = NativeBuffers.Random<float>(g.GateWidth);
        _h0 = NativeBuffers.Zeros<float>(state);
        _c0 = NativeBuffers.Zeros<float>(state);
        _y = NativeBuffers.Random<float>(y);
        _cache = NativeBuffers.Random<float>((long)Batch * Steps * g.CacheWidth);
        // PyTorch's layer returns only the h sequence, so the LSTM's c sequence gets no gradient there either.
        _dy = NativeBuffers.Random<float>(y, 6);
        if (g.States == 2) NativeMemory.Clear(_dy + y / 2, (nuint)(y / 2 * sizeof(float)));
        Forward();
    }

    /// <summary>Frees the buffers.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var p in new[] { _x, _wIh, _wHh, _bIh, _bHh, _h0, _c0, _y, _cache, _dy, _dx, _dWIh, _dWHh, _dBIh, _dBHh })
            NativeBuffers.Free(p);
    }

    /// <summary>All hidden (and cell) states and the gate cache, zero initial state.</summary>
    [Benchmark]
    public void Forward() => RecurrentSequence.Forward(Geometry, _x, _wIh, _wHh, _bIh, _bHh, _h0, _c0, _y, _cache);

    /// <summary>Backward through time: the input, weight and bias gradients (not the initial state's, as PyTorch's layer with no h0 given).</summary>
    [Benchmark]
    public void Backward() => RecurrentSequence.Backward(Geometry, _x, _wIh, _wHh, _h0, _c0, _y, _cache, _dy,
        _dx, null, null, _dWIh, _dWHh, _dBIh, _dBHh);

    private static float* Scaled(float* p, long count, float scale)
    {
        for (long i = 0; i < count; i++) p[i] *= scale;
        return p;
    }
}
