using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;
using Tensorium.Kernels.Gpu;

namespace Tensorium.Tests.Kernels.Gpu;

/// <summary>
/// Every path of the ILGPU GEMM (Kernels/Gpu/Gemm.cs) on the emulated device, against a plain
/// double-precision reference, through <see cref="GpuMatMul.Run"/> with alpha, beta, a leading
/// dimension of C wider than n (the columns past n must stay untouched), element offsets and
/// batch strides (0 broadcasts): the direct kernel, the tiled kernel on one tile and on two with
/// ragged edges, each transpose combination, and the TF32 kernel's emulation against a
/// TF32-rounded reference. Shapes are the smallest that reach each path: the emulated device
/// costs about 2 us per thread.
/// </summary>
[NonParallelizable]
public class GemmTests
{
    private static IlgpuBackend Backend => IlgpuBackend.For(Device.Emulated);

    private static IEnumerable<(bool TransA, bool TransB)> Transposes() => [(false, false), (false, true), (true, false), (true, true)];

    [Test]
    public void DirectKernelHandlesEveryTransposeBatchStrideAndLdc(
        [Values(DType.Float32, DType.Float64)] DType dtype)
    {
        foreach (var (transA, transB) in Transposes())
            Check(GpuMatMul.Path.Direct, dtype, m: 5, n: 7, k: 3, transA, transB, batch: 2, broadcastA: transA, broadcastB: !transA);
    }

    [Test]
    public void TiledKernelOnOneTileHandlesEveryTranspose()
    {
        // 33 x 40 inside one 64 x 64 tile; k = 25 is one full 16-deep slab and a ragged one.
        foreach (var (transA, transB) in Transposes())
            Check(GpuMatMul.Path.Tiled, DType.Float32, m: 33, n: 40, k: 25, transA, transB, batch: 1);
    }

    [Test]
    public void TiledKernelOnTwoTilesWithRaggedEdgesAndBatchBroadcast(
        [Values(DType.Float32, DType.Float64)] DType dtype)
    {
        // Two tile rows (65 = 64 + 1), one ragged tile column (n = 9), A broadcast over two entries.
        Check(GpuMatMul.Path.Tiled, dtype, m: 65, n: 9, k: 57, transA: dtype == DType.Float64, transB: true, batch: 2, broadcastA: true);
    }

    [Test]
    public void Tf32KernelEmulationMatchesTf32RoundedReference()
    {
        WithTf32Emulation(() =>
        {
            // 20 x 17 x 19: one 128 x 128 tile, ragged everywhere, two slabs of 16.
            foreach (var (transA, transB) in Transposes())
                Check(GpuMatMul.Path.Tf32, DType.Float32, m: 20, n: 17, k: 19, transA, transB, batch: 2, broadcastB: transA);
            // Two tiles along m and a second batch entry with its own B.
            Check(GpuMatMul.Path.Tf32, DType.Float32, m: 130, n: 16, k: 8, transA: false, transB: false, batch: 2);
        });
    }

    [Test]
    public void Tf32KernelRoundsItsInputs()
    {
        // 1 + 2^-20 is a float32 value but rounds to 1 in TF32: K such products sum to exactly K in
        // TF32, to K (1 + 2^-19) in float32 (see Tf32Tests).
        const int m = 16, n = 16, k = 8;
        WithTf32Emulation(() =>
        {
            Assert.That(GpuMatMul.Choose(Backend, DType.Float32, m, n, k), Is.EqualTo(GpuMatMul.Path.Tf32));
            double nudged = 1 + Math.Pow(2, -20);
            using var a = Tensor.Full([m, k], nudged, device: Device.Emulated);
            using var b = Tensor.Full([k, n], nudged, device: Device.Emulated);
            using var c = a.MatMul(b);
            Assert.That(c.ToDoubleArray(), Is.All.EqualTo((double)k));
        });
    }

    [Test]
    public void RoundBitsRoundsToNearestTiesAwayFromZero()
    {
        static float Round(float x) => BitConverter.UInt32BitsToSingle(Tf32.RoundBits(BitConverter.SingleToUInt32Bits(x)));
        float ulp = MathF.Pow(2, -10);   // TF32's spacing between 1 and 2
        Assert.That(Round(1 + ulp / 2), Is.EqualTo(1 + ulp), "a tie rounds away from zero");
        Assert.That(Round(-(1 + ulp / 2)), Is.EqualTo(-(1 + ulp)), "a negative tie rounds away from zero");
        Assert.That(Round(1 + ulp / 2 - MathF.Pow(2, -23)), Is.EqualTo(1f), "below the tie rounds down");
        Assert.That(Round(float.PositiveInfinity), Is.EqualTo(float.PositiveInfinity));
        Assert.That(float.IsNaN(Round(BitConverter.UInt32BitsToSingle(0x7F80_0001u))), Is.True, "a NaN whose payload is only in the dropped bits stays a NaN");
    }

    [Test]
    public void Tf32KernelEmitsTensorCoreInstructionsForPtx()
    {
        // PtxCompileTests compiles every kernel; this checks that the PTX of the TF32 one takes the
        // CudaAsm branches (cvt.rna and mma.sync), not the emulation.
        var arch = CudaArchitecture.SM_80;
        var entry = KernelRegistry.All().Single(e => e.Method.Name == nameof(Gemm.Tf32Tiled));
        using var ptx = new PTXBackend(IlgpuContext.Context, new CudaCapabilityContext(arch), arch, CudaInstructionSet.ISA_80, null);
        var kernel = (PTXCompiledKernel)ptx.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(entry.Method), default);
        Assert.That(kernel.PTXAssembly, Does.Contain("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32").And.Contain("cvt.rna.tf32.f32"));
        Assert.That(kernel.PTXAssembly, Does.Not.Contain("shfl"), "no warp shuffles: the emulation is not compiled in");
    }

    private static void WithTf32Emulation(Action action)
    {
        bool savedAllow = GpuSettings.AllowTf32, savedEmulate = GpuMatMul.EmulateTf32;
        GpuSettings.AllowTf32 = true;
        GpuMatMul.EmulateTf32 = true;
        try
        {
            action();
        }
        finally
        {
            GpuSettings.AllowTf32 = savedAllow;
            GpuMatMul.EmulateTf32 = savedEmulate;
        }
    }

    /// <summary>
    /// C = 1.5 op(A) op(B) - 0.5 C on the emulated device, operands stored after a few elements of
    /// offset, C with ldc = n + 3 (the three columns past n keep their values), against a double
    /// reference (of TF32-rounded inputs on the TF32 path).
    /// </summary>
    private static void Check(GpuMatMul.Path path, DType dtype, int m, int n, int k, bool transA, bool transB, int batch,
        bool broadcastA = false, bool broadcastB = false)
    {
        string what = $"{path} {dtype} {m}x{n}x{k} transA={transA} transB={transB} batch={batch} broadcast={broadcastA},{broadcastB}";
        Assert.That(GpuMatMul.Choose(Backend, dtype, m, n, k), Is.EqualTo(path), what);
        const int offA = 3, offB = 5, offC = 2;
        const double alpha = 1.5, beta = -0.5;
        int lda = transA ? m : k, ldb = transB ? k : n, ldc = n + 3;
        long strideA = broadcastA ? 0 : (long)m * k, strideB = broadcastB ? 0 : (long)k * n, strideC = (long)m * ldc;
        var valuesA = Stored(Reference.Values(offA + (broadcastA ? 1 : batch) * m * k, 31), dtype);
        var valuesB = Stored(Reference.Values(offB + (broadcastB ? 1 : batch) * k * n, 32), dtype);
        var valuesC = Stored(Reference.Values(offC + batch * m * ldc, 33), dtype);

        using var a = Ref.Make(valuesA, [valuesA.Length], Device.Emulated, dtype);
        using var b = Ref.Make(valuesB, [valuesB.Length], Device.Emulated, dtype);
        using var c = Ref.Make(valuesC, [valuesC.Length], Device.Emulated, dtype);
        GpuMatMul.Run(Backend, dtype, a, offA, transA, b, offB, transB, c, offC, m, n, k, lda, ldb, ldc, batch, strideA, strideB, strideC, alpha, beta);

        var expected = (double[])valuesC.Clone();
        Func<double, double> input = path == GpuMatMul.Path.Tf32 ? RoundTf32 : x => x;
        for (int e = 0; e < batch; e++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double sum = 0;
                    for (int p = 0; p < k; p++)
                    {
                        double x = valuesA[offA + e * strideA + (transA ? p * lda + i : i * lda + p)];
                        double y = valuesB[offB + e * strideB + (transB ? j * ldb + p : p * ldb + j)];
                        sum += input(x) * input(y);
                    }
                    long at = offC + e * strideC + (long)i * ldc + j;
                    expected[at] = alpha * sum + beta * valuesC[at];
                }
        double tol = dtype == DType.Float64 ? 1e-13 : 1e-5;
        Reference.AssertClose(c.ToDoubleArray(), expected, tol, tol, what);
    }

    /// <summary>The values as the dtype stores them (float32 rounds), so the reference sees what the kernel reads.</summary>
    private static double[] Stored(double[] values, DType dtype) => dtype == DType.Float32 ? Ref.AsFloat(values) : values;

    private static double RoundTf32(double x) => BitConverter.UInt32BitsToSingle(Tf32.RoundBits(BitConverter.SingleToUInt32Bits((float)x)));
}
