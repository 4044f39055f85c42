using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Kernels;

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
        long saved = GpuConv.ScratchElements;
        long perImage = (long)g.ColumnRows * g.OutPlane + (long)g.OutChannels * g.ColumnRows;
        try
        {
            // The chunking is host code that does not depend on the dtype, so float32 runs with the
            // default budget only; the CPU reference does not depend on the budget, so it runs once.
            foreach (var dtype in new[] { DType.Float32, DType.Float64 })
            {
                var expected = Run(Device.Cpu, g, dtype);
                long[] budgets = dtype == DType.Float64 ? [saved, 2 * perImage, 1] : [saved];
                foreach (long budget in budgets)
                {
                    GpuConv.ScratchElements = budget;
                    var actual = Run(device, g, dtype);
                    double tol = dtype == DType.Float32 ? 1e-4 : 1e-12;
                    for (int i = 0; i < expected.Length; i++)
                        Reference.AssertClose(actual[i], expected[i], tol, tol, $"{dtype} budget={budget} {Names[i]}");
                }
            }
        }
        finally
        {
            GpuConv.ScratchElements = saved;
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
