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
    [TestCase(DType.Float32, 130, 70, 45)]
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
