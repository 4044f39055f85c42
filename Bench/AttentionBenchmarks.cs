using BenchmarkDotNet.Attributes;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Bench;

/// <summary>
/// Scaled dot-product attention, batch 32 x 8 heads x 128 tokens x head dim 32, with and without
/// the causal mask. GFLOP/s counts the work done: 4 BH P D forward, 10 BH P D backward (with the
/// score recomputation), where P is the (query, key) pairs computed: L^2, or L(L+1)/2 when causal.
/// </summary>
public unsafe class AttentionBenchmarks : IWorkload
{
    private const int BatchHeads = 32 * 8, Length = 128, Dim = 32;
    private float* _q, _k, _v, _o, _lse, _do, _dq, _dk, _dv;

    /// <summary>Whether query i sees only keys j &lt;= i.</summary>
    [Params(false, true)]
    public bool Causal { get; set; }

    private AttentionGeometry Geometry => new(BatchHeads, Length, Length, Dim, Dim, 1 / MathF.Sqrt(Dim), Causal);

    /// <inheritdoc />
    /// <remarks>Over the (query, key) pairs the mask allows, as the profiler counts them: with the causal mask the kernels skip the rest, about half.</remarks>
    public double Flops(string method) => (method == nameof(Backward) ? 10.0 : 4.0) * BatchHeads * Geometry.AllowedPairs * Dim;

    /// <summary>Forward: Q, K, V in, O and the log-sum-exp out. Backward: those plus dO in, dQ, dK, dV out.</summary>
    public double MinimumBytes(string method) => 4.0 * BatchHeads * Length * ((method == nameof(Backward) ? 8.0 : 4.0) * Dim + 1);

    /// <summary>Inputs, gradients, and one forward so backward has real statistics.</summary>
    [GlobalSetup]
    public void Setup()
    {
        CpuParallel.Threads = BenchSettings.Threads;
        long n = (long)BatchHeads * Length * Dim;
        _q = NativeBuffers.Random<float>(n, 1);
        _k = NativeBuffers.Random<float>(n, 2);
        _v = NativeBuffers.Random<float>(n, 3);
        _o = NativeBuffers.Random<float>(n);
        _do = NativeBuffers.Random<float>(n, 4);
        _dq = NativeBuffers.Random<float>(n);
        _dk = NativeBuffers.Random<float>(n);
        _dv = NativeBuffers.Random<float>(n);
        _lse = NativeBuffers.Random<float>((long)BatchHeads * Length);
        Forward();
    }

    /// <summary>Frees the buffers.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var p in new[] { _q, _k, _v, _o, _lse, _do, _dq, _dk, _dv }) NativeBuffers.Free(p);
    }

    /// <summary>Output and log-sum-exp, tiled with the online softmax.</summary>
    [Benchmark]
    public void Forward() => Attention.Forward(Geometry, _q, _k, _v, AttentionMask<float>.None, _o, _lse);

    /// <summary>dQ, dK, dV, recomputing probabilities per tile.</summary>
    [Benchmark]
    public void Backward() => Attention.Backward(Geometry, _q, _k, _v, AttentionMask<float>.None, _o, _lse, _do, _dq, _dk, _dv);
}
