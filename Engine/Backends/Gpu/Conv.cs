using ILGPU;
using ILGPU.Runtime;
using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// 2-D convolution on ILGPU by im2col + GEMM (Kernels/Gpu/Conv.cs and <see cref="GpuMatMul.Run"/>),
/// the same three products as the CPU kernels (Kernels/Cpu/Conv2d.cs), with K = C*KH*KW and P = OH*OW:
/// <list type="bullet">
/// <item>forward: y[n] = W[OC, K] * col[n][K, P] (+ bias);</item>
/// <item>backward input: dcol[n] = Wᵀ[K, OC] * dy[n][OC, P], then col2im as a gather;</item>
/// <item>backward weight: dW = the sum over n of dy[n][OC, P] * col[n]ᵀ[P, K], in image order (deterministic).</item>
/// </list>
/// Images go through in chunks whose column matrices fit a scratch budget; each chunk is one
/// batched GEMM (the weight broadcast with batch stride 0). A 1x1 stride-1 unpadded convolution
/// uses the images themselves as col.
/// </summary>
internal static class GpuConv
{
    private const string Op = "conv2d";

    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, Conv2dGeometry>> Im2ColFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, Conv2dGeometry>(Conv.Im2Col);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, Conv2dGeometry>> Im2ColFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, Conv2dGeometry>(Conv.Im2Col);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, Conv2dGeometry>> Col2ImFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, Conv2dGeometry>(Conv.Col2Im);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, Conv2dGeometry>> Col2ImFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, Conv2dGeometry>(Conv.Col2Im);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, int, int>> BiasAddFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, int, int>(Conv.BiasAdd);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, int, int>> BiasAddFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, int, int>(Conv.BiasAdd);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int>> BiasGradFloat32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<float>, int, int, int>(Conv.BiasGrad);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<double>, ArrayView<double>, int, int, int>> BiasGradFloat64 =
        IlgpuKernels.Grouped<ArrayView<double>, ArrayView<double>, int, int, int>(Conv.BiasGrad);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, int, int, ArrayView<float>, int>> SumPartsFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, int, int, ArrayView<float>, int>(Conv.SumParts);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, int, int, ArrayView<double>, int>> SumPartsFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, int, int, ArrayView<double>, int>(Conv.SumParts);

    /// <summary>
    /// Scratch budget of one chunk of images (column matrices plus weight-gradient partials), in
    /// elements. Settable so that tests can force several chunks, and chunks of one image.
    /// </summary>
    internal static long ScratchElements { get; set; } = 1L << 24;

    public static void Forward(IlgpuBackend backend, Conv2dGeometry g, Tensor input, Tensor weight, Tensor? bias, Tensor output)
    {
        var dtype = output.DType;
        GpuMatMul.CheckFloating(backend, Op, dtype);
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels;
        long inImage = g.InImage, outImage = g.OutImage;
        long w = weight.Layout.Offset, x = input.Layout.Offset, y = output.Layout.Offset;

        if (g.IsPointwise)
            GpuMatMul.Run(backend, dtype, weight, w, false, input, x, false, output, y, outC, p, k, k, p, p, g.Batch, 0, inImage, outImage, 1, 0);
        else
        {
            int chunk = Chunk(g.Batch, (long)k * p);
            using var col = Tensor.Empty([checked(chunk * k * p)], dtype, backend.Device);
            for (int n0 = 0; n0 < g.Batch; n0 += chunk)
            {
                int count = Math.Min(chunk, g.Batch - n0);
                Im2Col(backend, g, input, n0, count, col);
                GpuMatMul.Run(backend, dtype, weight, w, false, col, col.Layout.Offset, false, output, y + n0 * outImage,
                    outC, p, k, k, p, p, count, 0, (long)k * p, outImage, 1, 0);
            }
        }

        if (bias == null) return;
        int n = output.Count;
        if (dtype == DType.Float32)
            BiasAddFloat32.On(backend)(n, backend.View<float>(output, Op), backend.View<float>(bias, Op), outC, p);
        else
            BiasAddFloat64.On(backend)(n, backend.View<double>(output, Op), backend.View<double>(bias, Op), outC, p);
    }

    public static void BackwardInput(IlgpuBackend backend, Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput)
    {
        var dtype = gradInput.DType;
        GpuMatMul.CheckFloating(backend, Op, dtype);
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels;
        long inImage = g.InImage, outImage = g.OutImage;
        long w = weight.Layout.Offset, dy = gradOutput.Layout.Offset, dx = gradInput.Layout.Offset;

        // Wᵀ: the stored [OC, K] weight read transposed (lda = K).
        if (g.IsPointwise)
        {
            GpuMatMul.Run(backend, dtype, weight, w, true, gradOutput, dy, false, gradInput, dx, k, p, outC, k, p, p, g.Batch, 0, outImage, inImage, 1, 0);
            return;
        }

        int chunk = Chunk(g.Batch, (long)k * p);
        using var col = Tensor.Empty([checked(chunk * k * p)], dtype, backend.Device);
        for (int n0 = 0; n0 < g.Batch; n0 += chunk)
        {
            int count = Math.Min(chunk, g.Batch - n0);
            GpuMatMul.Run(backend, dtype, weight, w, true, gradOutput, dy + n0 * outImage, false, col, col.Layout.Offset,
                k, p, outC, k, p, p, count, 0, outImage, (long)k * p, 1, 0);
            int pixels = checked((int)(count * inImage));
            if (dtype == DType.Float32)
                Col2ImFloat32.On(backend)(pixels, backend.View<float>(col, Op), GpuMatMul.Elements<float>(backend, gradInput, dx + n0 * inImage, Op), g);
            else
                Col2ImFloat64.On(backend)(pixels, backend.View<double>(col, Op), GpuMatMul.Elements<double>(backend, gradInput, dx + n0 * inImage, Op), g);
        }
    }

    public static void BackwardWeight(IlgpuBackend backend, Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor? gradBias)
    {
        var dtype = gradWeight.DType;
        GpuMatMul.CheckFloating(backend, Op, dtype);
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels;
        long inImage = g.InImage, outImage = g.OutImage;
        long x = input.Layout.Offset, dy = gradOutput.Layout.Offset, dw = gradWeight.Layout.Offset;
        int weightCount = outC * k;

        // Per image: its column matrix (unless pointwise) and its [OC, K] partial product.
        int chunk = Chunk(g.Batch, (g.IsPointwise ? 0 : (long)k * p) + weightCount);
        using var col = g.IsPointwise ? null : Tensor.Empty([checked(chunk * k * p)], dtype, backend.Device);
        using var parts = chunk > 1 ? Tensor.Empty([checked(chunk * weightCount)], dtype, backend.Device) : null;
        for (int n0 = 0; n0 < g.Batch; n0 += chunk)
        {
            int count = Math.Min(chunk, g.Batch - n0);
            // col[n]ᵀ [P, K]: the stored [K, P] matrix read transposed (ldb = P).
            Tensor colSource = input;
            long colOffset = x + n0 * inImage, colStride = inImage;
            if (col != null)
            {
                Im2Col(backend, g, input, n0, count, col);
                (colSource, colOffset, colStride) = (col, col.Layout.Offset, (long)k * p);
            }
            if (count == 1)
            {
                // One image: straight into gradWeight, adding onto the earlier chunks' sum.
                GpuMatMul.Run(backend, dtype, gradOutput, dy + n0 * outImage, false, colSource, colOffset, true, gradWeight, dw,
                    outC, k, p, p, p, k, 1, outImage, colStride, 0, 1, n0 == 0 ? 0 : 1);
                continue;
            }
            // One partial product per image, then their sum in image order onto gradWeight.
            GpuMatMul.Run(backend, dtype, gradOutput, dy + n0 * outImage, false, colSource, colOffset, true, parts!, parts!.Layout.Offset,
                outC, k, p, p, p, k, count, outImage, colStride, weightCount, 1, 0);
            int accumulate = n0 == 0 ? 0 : 1;
            if (dtype == DType.Float32)
                SumPartsFloat32.On(backend)(weightCount, backend.View<float>(parts, Op), weightCount, count, backend.View<float>(gradWeight, Op), accumulate);
            else
                SumPartsFloat64.On(backend)(weightCount, backend.View<double>(parts, Op), weightCount, count, backend.View<double>(gradWeight, Op), accumulate);
        }

        if (gradBias == null) return;
        var config = new KernelConfig(new Index3D(outC, 1, 1), new Index3D(Conv.BiasGradGroup, 1, 1));
        if (dtype == DType.Float32)
            BiasGradFloat32.On(backend)(config, backend.View<float>(gradOutput, Op), backend.View<float>(gradBias, Op), g.Batch, outC, p);
        else
            BiasGradFloat64.On(backend)(config, backend.View<double>(gradOutput, Op), backend.View<double>(gradBias, Op), g.Batch, outC, p);
    }

    /// <summary>How many images one chunk holds: as many as fit the scratch budget, at least one.</summary>
    private static int Chunk(int batch, long elementsPerImage) =>
        (int)Math.Clamp(ScratchElements / Math.Max(1, elementsPerImage), 1, batch);

    /// <summary>Fills col with the column matrices of images n0 .. n0 + count of <paramref name="input"/>.</summary>
    private static void Im2Col(IlgpuBackend backend, Conv2dGeometry g, Tensor input, int n0, int count, Tensor col)
    {
        int entries = checked(count * g.ColumnRows * g.OutPlane);
        long first = input.Layout.Offset + n0 * g.InImage;
        if (input.DType == DType.Float32)
            Im2ColFloat32.On(backend)(entries, GpuMatMul.Elements<float>(backend, input, first, Op), backend.View<float>(col, Op), g);
        else
            Im2ColFloat64.On(backend)(entries, GpuMatMul.Elements<double>(backend, input, first, Op), backend.View<double>(col, Op), g);
    }
}
