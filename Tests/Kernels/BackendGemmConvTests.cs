using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Kernels;

/// <summary>
/// The backend's batched GEMM on each device against the CPU backend, called directly so that
/// every transpose, batch stride (including 0, a broadcast operand) and a non-zero element
/// offset are exercised on sizes that are not multiples of any tile, on both the tiled and the
/// direct kernel of the GPU backend.
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.Gpus))]
public class BackendMatMulTests(Device device)
{
    // (m, n, k): the first three take the GPU's tiled kernel (several tiles, ragged edges, k not a
    // multiple of the slab depth), the last three the direct one (tiny, one row, k below 4).
    [TestCase(DType.Float32, 67, 33, 45)]
    [TestCase(DType.Float64, 67, 33, 45)]
    [TestCase(DType.Float32, 130, 70, 200)]
    [TestCase(DType.Float64, 17, 9, 601)]
    [TestCase(DType.Float32, 5, 7, 3)]
    [TestCase(DType.Float64, 1, 70, 40)]
    [TestCase(DType.Float32, 40, 50, 2)]
    public void MatchesCpuForEveryTransposeAndBatchStride(DType dtype, int m, int n, int k)
    {
        const int batch = 3, offsetA = 5, offsetB = 3;
        var valuesA = Reference.Values(offsetA + batch * m * k, 11);
        var valuesB = Reference.Values(offsetB + batch * k * n, 12);
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                foreach (var (strideA, strideB) in new[] { (m * k, k * n), (0, k * n), (m * k, 0) })
                {
                    string what = $"{m}x{n}x{k} transA={transA} transB={transB} strides={strideA},{strideB}";
                    var expected = Run(Device.Cpu, dtype, valuesA, offsetA, transA, strideA, valuesB, offsetB, transB, strideB, batch, m, n, k);
                    var actual = Run(device, dtype, valuesA, offsetA, transA, strideA, valuesB, offsetB, transB, strideB, batch, m, n, k);
                    double tol = dtype == DType.Float32 ? 1e-5 * Math.Sqrt(k + 1) : 1e-13 * (k + 1);
                    Reference.AssertClose(actual, expected, tol, dtype == DType.Float32 ? 1e-5 : 1e-12, what);
                }
    }

    /// <summary>y[batch, m, n] from operands stored after <c>offset</c> elements of a flat buffer (views with that offset).</summary>
    internal static double[] Run(Device on, DType dtype, double[] valuesA, int offsetA, bool transA, int strideA,
        double[] valuesB, int offsetB, bool transB, int strideB, int batch, int m, int n, int k)
    {
        using var bufferA = Ref.Make(valuesA, [valuesA.Length], on, dtype);
        using var bufferB = Ref.Make(valuesB, [valuesB.Length], on, dtype);
        using var a = bufferA.Narrow(0, offsetA, valuesA.Length - offsetA);
        using var b = bufferB.Narrow(0, offsetB, valuesB.Length - offsetB);
        Assert.That(a.Layout.Offset, Is.EqualTo(offsetA));
        using var y = Tensor.Empty([batch, m, n], dtype, on);
        y.Backend("test").MatMul(a, transA, strideA, b, transB, strideB, y, batch, m, n, k);
        return y.ToDoubleArray();
    }
}

/// <summary>
/// The backend's three Conv2d passes on each device against the CPU backend, including stride 2
/// with padding 1 and dilation 2, a pointwise (no im2col) case, a kernel larger than the input,
/// and the chunking of the batch: a budget of one image per chunk (the weight gradient adds
/// each image onto the sum with beta = 1) and of two images per chunk with a ragged last chunk
/// (partial products summed in order).
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.Gpus))]
public class BackendConv2dKernelTests(Device device)
{
    public static IEnumerable<TestCaseData> Geometries()
    {
        yield return Case(new Conv2dGeometry(3, 3, 9, 11, 4, 3, 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilationH: 2, DilationW: 2), "stride2-pad1-dilation2");
        yield return Case(new Conv2dGeometry(3, 5, 7, 6, 3, 1, 1), "pointwise");
        yield return Case(new Conv2dGeometry(2, 2, 6, 13, 2, 2, 5, StrideH: 1, StrideW: 3, PadH: 0, PadW: 2), "2x5-stride1x3");
        yield return Case(new Conv2dGeometry(3, 1, 28, 28, 8, 3, 3), "mnist-first-layer");
        yield return Case(new Conv2dGeometry(3, 2, 4, 3, 2, 6, 5, PadH: 1, PadW: 1), "kernel-larger-than-input");
        yield return Case(new Conv2dGeometry(3, 16, 12, 12, 20, 3, 3, PadH: 1, PadW: 1), "tiled-gemm");
    }

    private static TestCaseData Case(Conv2dGeometry g, string name) => new TestCaseData(g).SetArgDisplayNames(name);

    [TestCaseSource(nameof(Geometries))]
    public void MatchesCpu(Conv2dGeometry g)
    {
        long saved = GpuBackend.ConvScratchElements;
        long perImage = (long)g.ColumnRows * g.OutPlane + (long)g.OutChannels * g.ColumnRows;
        try
        {
            foreach (var dtype in new[] { DType.Float32, DType.Float64 })
                foreach (long budget in new[] { saved, 2 * perImage, 1 })
                {
                    GpuBackend.ConvScratchElements = budget;
                    var expected = Run(Device.Cpu, g, dtype);
                    var actual = Run(device, g, dtype);
                    double tol = dtype == DType.Float32 ? 1e-4 : 1e-12;
                    for (int i = 0; i < expected.Length; i++)
                        Reference.AssertClose(actual[i], expected[i], tol, tol, $"{dtype} budget={budget} {Names[i]}");
                }
        }
        finally
        {
            GpuBackend.ConvScratchElements = saved;
        }
    }

    private static readonly string[] Names = ["output", "gradInput", "gradWeight", "gradBias"];

    /// <summary>The forward output (with bias), the input gradient, and the weight and bias gradients.</summary>
    internal static double[][] Run(Device on, Conv2dGeometry g, DType dtype)
    {
        int[] xShape = [g.Batch, g.InChannels, g.InHeight, g.InWidth], wShape = [g.OutChannels, g.InChannels, g.KernelHeight, g.KernelWidth];
        int[] yShape = [g.Batch, g.OutChannels, g.OutHeight, g.OutWidth];
        using var x = Ref.Make(Reference.Values(Ref.Count(xShape), 21), xShape, on, dtype);
        using var w = Ref.Make(Reference.Values(Ref.Count(wShape), 22), wShape, on, dtype);
        using var bias = Ref.Make(Reference.Values(g.OutChannels, 23), [g.OutChannels], on, dtype);
        using var gy = Ref.Make(Reference.Values(Ref.Count(yShape), 24), yShape, on, dtype);
        using var y = Tensor.Empty(yShape, dtype, on);
        using var gx = Tensor.Empty(xShape, dtype, on);
        using var gw = Tensor.Empty(wShape, dtype, on);
        using var gb = Tensor.Empty([g.OutChannels], dtype, on);
        var backend = x.Backend("test");
        backend.Conv2d(g, x, w, bias, y);
        backend.Conv2dBackwardInput(g, gy, w, gx);
        backend.Conv2dBackwardWeight(g, x, gy, gw, gb);
        return [y.ToDoubleArray(), gx.ToDoubleArray(), gw.ToDoubleArray(), gb.ToDoubleArray()];
    }
}
