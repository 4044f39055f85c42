namespace Tensorium.GpuCheck;

/// <summary>One timed kernel: its mean time per call and, where there is one, a reference's.</summary>
internal sealed record BenchResult(string Name, Device Device, double Milliseconds, double Work, string Unit, string? Reference = null, double ReferenceMilliseconds = double.NaN)
{
    /// <summary>Work per second in the unit's giga (GFLOP/s or GB/s).</summary>
    public double Rate => Work / (Milliseconds * 1e6);
    /// <summary>Reference time over ours: above 1 means Tensorium is faster.</summary>
    public double Ratio => ReferenceMilliseconds / Milliseconds;
}

/// <summary>
/// The kernel benchmarks gpu-check runs per device: GEMM in float32 and, where the device has it,
/// in TF32 (each with cuBLAS side by side on CUDA),
/// attention, conv, softmax and max-pool. Sizes are the issue's on a GPU and small on a device that runs on the CPU (the emulated one),
/// where they only prove the path runs. Each measurement warms up first (compiling kernels),
/// rotates between three input sets, and waits for the device before reading the clock.
/// </summary>
internal static class GpuBenchmarks
{
    private const int Sets = 3;

    /// <summary>The benchmarks for one device, each run when called (so one failing does not stop the rest).</summary>
    public static IReadOnlyList<(string Name, Func<BenchResult> Run)> For(DeviceDescription d)
    {
        var device = d.Device;
        bool big = d.IsGpu;
        bool tf32;
        using (new Tf32Scope(true)) tf32 = GpuSettings.UsesTf32(device);
        var gemms = new List<(string, Func<BenchResult>)> { ("sgemm", () => Gemm(device, big ? 4096 : 256, tf32: false)) };
        if (tf32) gemms.Add(("tf32 gemm", () => Gemm(device, big ? 4096 : 256, tf32: true)));
        return
        [
            .. gemms,
            ("attention", () => Attention(device, big ? (8, 16, 1024, 64) : (1, 2, 128, 64))),
            ("conv2d", () => Conv(device, big ? 64 : 4)),
            ("softmax", () => Softmax(device, big ? 4096 : 256)),
            ("max_pool2d", () => MaxPool(device, big ? 64 : 4)),
        ];
    }

    /// <summary>
    /// Mean milliseconds per call of <paramref name="run"/>(set), after warm-up, over at least
    /// ~0.3 s: wall time between two synchronisations of the device, so every queued kernel counts.
    /// </summary>
    private static double Time(Device device, Action<int> run)
    {
        for (int i = 0; i < Sets; i++) run(i);
        double once = Elapsed(device, () => run(0));
        int reps = Math.Clamp((int)(300 / Math.Max(once, 0.01)), 3, 500);
        return Elapsed(device, () => { for (int i = 0; i < reps; i++) run(i % Sets); }) / reps;
    }

    private static double Elapsed(Device device, Action work)
    {
        device.Synchronize();
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        work();
        device.Synchronize();
        return System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private static Tensor[] Inputs(Device device, int[] shape) =>
        Enumerable.Range(0, Sets).Select(i => Tensor.Uniform(shape, -1, 1, new Generator((ulong)i + 1), device: device)).ToArray();

    /// <summary>
    /// n x n x n float32 GEMM with TF32 off (the float32 kernels, against cuBLAS sgemm in its default
    /// float32 math) or on (the TF32 tensor-core kernel, against cuBLAS in TF32 tensor-op math).
    /// </summary>
    private static BenchResult Gemm(Device device, int n, bool tf32)
    {
        using var mode = new Tf32Scope(tf32);
        string name = $"{(tf32 ? "tf32 gemm" : "sgemm")} {n}^3";
        var a = Inputs(device, [n, n]);
        var b = Inputs(device, [n, n]);
        double ms = Time(device, i => a[i].MatMul(b[i]).Dispose());
        double flops = 2.0 * n * n * n;
        using var cublas = device.Kind == DeviceKind.Cuda ? CuBlas.TryCreate() : null;
        if (cublas == null) return new BenchResult(name, device, ms, flops, "GFLOP/s");
        using var y = Tensor.Zeros([n, n], device: device);
        double refMs = Time(device, i => cublas.Gemm(Handle(a[i]), Handle(b[i]), Handle(y), n, n, n, tf32));
        return new BenchResult(name, device, ms, flops, "GFLOP/s", tf32 ? "cuBLAS tf32" : "cuBLAS sgemm", refMs);
    }

    private static nint Handle(Tensor t) => IlgpuBackend.For(t.Device).DevicePointer(t, "gpu-check");

    private static BenchResult Attention(Device device, (int B, int H, int L, int D) s)
    {
        var q = Inputs(device, [s.B, s.H, s.L, s.D]);
        var k = Inputs(device, [s.B, s.H, s.L, s.D]);
        var v = Inputs(device, [s.B, s.H, s.L, s.D]);
        double ms = Time(device, i => AttentionOp.ScaledDotProductAttention(q[i], k[i], v[i]).Dispose());
        double flops = 4.0 * s.B * s.H * s.L * s.L * s.D;
        return new BenchResult($"attention fwd {s.B}x{s.H}x{s.L}x{s.D}", device, ms, flops, "GFLOP/s");
    }

    private static BenchResult Conv(Device device, int batch)
    {
        var x = Inputs(device, [batch, 32, 13, 13]);
        using var w = Tensor.Uniform([64, 32, 3, 3], -0.1, 0.1, new Generator(9), device: device);
        double ms = Time(device, i => x[i].Conv2d(w).Dispose());
        double flops = 2.0 * batch * 64 * 11 * 11 * 32 * 9;
        return new BenchResult($"conv2d fwd {batch}x32x13x13 -> 64", device, ms, flops, "GFLOP/s");
    }

    private static BenchResult Softmax(Device device, int rows)
    {
        var x = Inputs(device, [rows, 1024]);
        double ms = Time(device, i => x[i].Softmax(-1).Dispose());
        return new BenchResult($"softmax fwd {rows}x1024", device, ms, 2.0 * rows * 1024 * sizeof(float), "GB/s");
    }

    private static BenchResult MaxPool(Device device, int batch)
    {
        var x = Inputs(device, [batch, 32, 26, 26]);
        double ms = Time(device, i => x[i].MaxPool2d(2).Dispose());
        double bytes = batch * 32 * (26 * 26 + 13 * 13 * 2) * (double)sizeof(float);
        return new BenchResult($"max_pool2d fwd {batch}x32x26x26", device, ms, bytes, "GB/s");
    }
}
