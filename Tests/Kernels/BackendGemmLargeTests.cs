using Tensorium.Kernels.Cpu;
using Operand = Tensorium.GpuBackend.GemmOperand;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Kernels;

/// <summary>
/// Which gemm.gpu kernel the GPU backend picks (no device needed): gemm_large only for big
/// float32 products whose every row starts a multiple of 4 floats into its buffer, since it reads
/// and writes four floats at a time (a misaligned access faults on CUDA, and PoCL would not notice).
/// </summary>
[TestFixture]
public class GemmKernelChoiceTests
{
    /// <summary>The operands MatMul builds: contiguous, stored transposed or not, at an offset.</summary>
    private static (Operand A, Operand B) MatMulOperands(int m, int n, int k, bool transA = false, bool transB = false,
        long offsetA = 0, long offsetB = 0, long strideA = 0, long strideB = 0) =>
        (new Operand(0, offsetA, transA ? m : k, strideA, transA), new Operand(0, offsetB, transB ? k : n, strideB, transB));

    private static string Choice(DType dtype, int batch, int m, int n, int k, (Operand A, Operand B) x, long cOffset = 0) =>
        GpuBackend.GemmKernelName(dtype, batch, m, n, k, x.A, x.B, cOffset, (long)m * n);

    [Test]
    public void BigAlignedFloat32ProductsTakeTheLargeKernel()
    {
        // gpu-check's sgemm, every transpose, and a batch of smaller products that add up.
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                Assert.That(Choice(DType.Float32, 1, 4096, 4096, 4096, MatMulOperands(4096, 4096, 4096, transA, transB)), Is.EqualTo("gemm_large"));
        Assert.That(Choice(DType.Float32, 64, 128, 128, 64, MatMulOperands(128, 128, 64, strideA: 128 * 64, strideB: 0)), Is.EqualTo("gemm_large"));
        Assert.That(Choice(DType.Float32, 1, 1024, 1028, 36, MatMulOperands(1024, 1028, 36, offsetA: 8, offsetB: 4), cOffset: 12), Is.EqualTo("gemm_large"));
    }

    [Test]
    public void EverythingElseKeepsTheOldKernels()
    {
        Assert.That(Choice(DType.Float64, 1, 4096, 4096, 4096, MatMulOperands(4096, 4096, 4096)), Is.EqualTo("gemm_tiled"), "float64");
        Assert.That(Choice(DType.Float32, 1, 512, 512, 512, MatMulOperands(512, 512, 512)), Is.EqualTo("gemm_tiled"), "too few tiles to fill a GPU");
        Assert.That(Choice(DType.Float32, 1, 4096, 64, 4096, MatMulOperands(4096, 64, 4096)), Is.EqualTo("gemm_tiled"), "narrower than a tile");
        Assert.That(Choice(DType.Float32, 1, 2048, 2048, 4, MatMulOperands(2048, 2048, 4)), Is.EqualTo("gemm_tiled"), "shallower than a slab");
        Assert.That(Choice(DType.Float32, 1, 2048, 2048, 2047, MatMulOperands(2048, 2048, 2047)), Is.EqualTo("gemm_tiled"), "k (A's leading dimension) odd");
        Assert.That(Choice(DType.Float32, 1, 2048, 2046, 2048, MatMulOperands(2048, 2046, 2048)), Is.EqualTo("gemm_tiled"), "n (B's and C's row pitch) not a multiple of 4");
        Assert.That(Choice(DType.Float32, 1, 2046, 2048, 2048, MatMulOperands(2046, 2048, 2048, transA: true)), Is.EqualTo("gemm_tiled"), "m (transposed A's leading dimension) not a multiple of 4");
        Assert.That(Choice(DType.Float32, 1, 2048, 2048, 2048, MatMulOperands(2048, 2048, 2048, offsetA: 2)), Is.EqualTo("gemm_tiled"), "A at an unaligned offset");
        Assert.That(Choice(DType.Float32, 1, 2048, 2048, 2048, MatMulOperands(2048, 2048, 2048, offsetB: 1)), Is.EqualTo("gemm_tiled"), "B at an unaligned offset");
        Assert.That(Choice(DType.Float32, 1, 2048, 2048, 2048, MatMulOperands(2048, 2048, 2048), cOffset: 3), Is.EqualTo("gemm_tiled"), "C at an unaligned offset");
        Assert.That(Choice(DType.Float32, 2, 1024, 1024, 1024, MatMulOperands(1024, 1024, 1024, strideA: 1024 * 1024 + 2)), Is.EqualTo("gemm_tiled"), "unaligned batch stride");
        Assert.That(Choice(DType.Float32, 1, 4, 4096, 4096, MatMulOperands(4, 4096, 4096)), Is.EqualTo("gemm_direct"), "thin");
    }
}

/// <summary>
/// The GPU backend's gemm_large on each device against the CPU backend, reached on small shapes by
/// lowering its size threshold: one exact tile, ragged tiles and a ragged last slab, all four
/// transposes, batches (including broadcast operands), aligned offsets into a larger buffer, the
/// unaligned cases that must fall back, and the convolution passes (alpha/beta through the weight
/// gradient's accumulation).
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.Gpus))]
public class BackendGemmLargeTests(Device device)
{
    private long _savedMinOutputs;

    [SetUp]
    public void LowerThreshold()
    {
        _savedMinOutputs = GpuBackend.GemmLargeMinOutputs;
        GpuBackend.GemmLargeMinOutputs = 0;
    }

    [TearDown]
    public void RestoreThreshold() => GpuBackend.GemmLargeMinOutputs = _savedMinOutputs;

    // (m, n, k, batch, offsetA, offsetB, kernel): one tile and one slab; tiles and the last slab
    // cut short (multiples of 4 still); several whole-k slabs over ragged tiles, batched; aligned
    // offsets; then what must fall back: odd sizes, and offsets that are not multiples of 4.
    [TestCase(128, 128, 8, 1, 0, 0, "gemm_large")]
    [TestCase(132, 260, 36, 2, 0, 0, "gemm_large")]
    [TestCase(300, 520, 64, 1, 0, 0, "gemm_large")]
    [TestCase(256, 132, 40, 3, 8, 4, "gemm_large")]
    [TestCase(257, 130, 33, 2, 0, 0, "gemm_tiled")]
    [TestCase(256, 132, 40, 2, 5, 4, "gemm_tiled")]
    [TestCase(256, 132, 40, 2, 0, 6, "gemm_tiled")]
    public void MatchesCpuForEveryTransposeAndBatchStride(int m, int n, int k, int batch, int offsetA, int offsetB, string kernel)
    {
        const DType dtype = DType.Float32;
        var valuesA = Reference.Values(offsetA + batch * m * k, 31);
        var valuesB = Reference.Values(offsetB + batch * k * n, 32);
        var strides = batch == 1 ? new[] { (m * k, k * n) } : new[] { (m * k, k * n), (0, k * n), (m * k, 0) };
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                foreach (var (strideA, strideB) in strides)
                {
                    string what = $"{m}x{n}x{k} batch={batch} offsets={offsetA},{offsetB} transA={transA} transB={transB} strides={strideA},{strideB}";
                    var a = new Operand(0, offsetA, transA ? m : k, strideA, transA);
                    var b = new Operand(0, offsetB, transB ? k : n, strideB, transB);
                    Assert.That(GpuBackend.GemmKernelName(dtype, batch, m, n, k, a, b, 0, (long)m * n), Is.EqualTo(kernel), what);
                    var expected = BackendMatMulTests.Run(Device.Cpu, dtype, valuesA, offsetA, transA, strideA, valuesB, offsetB, transB, strideB, batch, m, n, k);
                    var actual = BackendMatMulTests.Run(device, dtype, valuesA, offsetA, transA, strideA, valuesB, offsetB, transB, strideB, batch, m, n, k);
                    Reference.AssertClose(actual, expected, 1e-5 * Math.Sqrt(k + 1), 1e-5, what);
                }
    }

    /// <summary>
    /// A convolution whose three GEMMs all take gemm_large (K = 16*3*3 = 144, P = 16*16 = 256,
    /// 128 output channels); a one-image scratch budget makes the weight gradient add each image
    /// onto the sum through beta = 1.
    /// </summary>
    [Test]
    public void ConvolutionPassesMatchCpu()
    {
        var g = new Conv2dGeometry(2, 16, 16, 16, 128, 3, 3, PadH: 1, PadW: 1);
        var w = new Operand(0, 0, g.ColumnRows, 0, false);
        var cols = new Operand(0, 0, g.OutPlane, (long)g.ColumnRows * g.OutPlane, false);
        Assert.That(GpuBackend.GemmKernelName(DType.Float32, 2, g.OutChannels, g.OutPlane, g.ColumnRows, w, cols, 0, (long)g.OutChannels * g.OutPlane),
            Is.EqualTo("gemm_large"), "the forward product");
        long saved = GpuBackend.ConvScratchElements;
        try
        {
            foreach (long budget in new[] { saved, 1 })
            {
                GpuBackend.ConvScratchElements = budget;
                var expected = BackendConv2dKernelTests.Run(Device.Cpu, g, DType.Float32);
                var actual = BackendConv2dKernelTests.Run(device, g, DType.Float32);
                string[] names = ["output", "gradInput", "gradWeight", "gradBias"];
                for (int i = 0; i < expected.Length; i++)
                    Reference.AssertClose(actual[i], expected[i], 1e-4, 1e-4, $"budget={budget} {names[i]}");
            }
        }
        finally
        {
            GpuBackend.ConvScratchElements = saved;
        }
    }
}
