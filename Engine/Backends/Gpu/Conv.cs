using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

// 2-D convolution on the GPU by im2col + GEMM (conv.gpu and gemm.gpu), the same three products
// as the CPU kernels (Kernels/Cpu/Conv2d.cs):
//   forward          y[n]  = W[OC, K] * col[n][K, P]                (+ bias)
//   backward input   dcol[n] = Wᵀ[K, OC] * dy[n][OC, P], then col2im as a gather
//   backward weight  dW = sum over n of dy[n][OC, P] * col[n]ᵀ[P, K]  (fixed order: deterministic)
// with K = C*KH*KW and P = OH*OW. Images go through in chunks whose column matrices fit a
// scratch budget; each chunk is one batched GEMM (the weight broadcast with batch stride 0).
// A 1x1 stride-1 unpadded convolution uses the images themselves as col.
internal sealed partial class GpuBackend
{
    /// <summary>
    /// Scratch budget of one chunk of images (column matrices plus weight-gradient partials), in
    /// elements. Settable so that tests can force several chunks, and chunks of one image.
    /// </summary>
    internal static long ConvScratchElements { get; set; } = 1L << 24;

    public void Conv2d(Conv2dGeometry g, Tensor input, Tensor weight, Tensor? bias, Tensor output)
    {
        const string op = "conv2d";
        var dtype = output.DType;
        CheckFloating(op, dtype);
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels;
        long inImage = g.InImage, outImage = g.OutImage;
        var w = new GemmOperand(Buffer(weight, op), weight.Layout.Offset, k, 0, false);

        if (g.IsPointwise)
        {
            var x = new GemmOperand(Buffer(input, op), input.Layout.Offset, p, inImage, false);
            Gemm(dtype, g.Batch, outC, p, k, w, x, Buffer(output, op), output.Layout.Offset, outImage, 1, 0);
        }
        else
        {
            int chunk = ConvChunk(g.Batch, (long)k * p);
            using var col = Tensor.Empty([checked(chunk * k * p)], dtype, Device);
            for (int n0 = 0; n0 < g.Batch; n0 += chunk)
            {
                int count = Math.Min(chunk, g.Batch - n0);
                Im2Col(g, input, n0, count, col, op);
                var cols = new GemmOperand(Buffer(col, op), col.Layout.Offset, p, (long)k * p, false);
                Gemm(dtype, count, outC, p, k, w, cols, Buffer(output, op), output.Layout.Offset + n0 * outImage, outImage, 1, 0);
            }
        }

        if (bias != null)
        {
            var args = new KernelArgs();
            Arg(Arg(args, output, op), bias, op).Int(output.Count).Int(outC).Int(p);
            Launch1D(Kernel("conv", "bias_add", dtype), output.Count, args);
        }
    }

    public void Conv2dBackwardInput(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput)
    {
        const string op = "conv2d";
        var dtype = gradInput.DType;
        CheckFloating(op, dtype);
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels;
        long inImage = g.InImage, outImage = g.OutImage;
        // Wᵀ: the stored [OC, K] weight read transposed (lda = K).
        var wt = new GemmOperand(Buffer(weight, op), weight.Layout.Offset, k, 0, true);

        if (g.IsPointwise)
        {
            var dy = new GemmOperand(Buffer(gradOutput, op), gradOutput.Layout.Offset, p, outImage, false);
            Gemm(dtype, g.Batch, k, p, outC, wt, dy, Buffer(gradInput, op), gradInput.Layout.Offset, inImage, 1, 0);
            return;
        }

        int chunk = ConvChunk(g.Batch, (long)k * p);
        using var col = Tensor.Empty([checked(chunk * k * p)], dtype, Device);
        for (int n0 = 0; n0 < g.Batch; n0 += chunk)
        {
            int count = Math.Min(chunk, g.Batch - n0);
            var dy = new GemmOperand(Buffer(gradOutput, op), gradOutput.Layout.Offset + n0 * outImage, p, outImage, false);
            Gemm(dtype, count, k, p, outC, wt, dy, Buffer(col, op), col.Layout.Offset, (long)k * p, 1, 0);
            var args = new KernelArgs();
            Arg(args, col, op);
            args.Buffer(Buffer(gradInput, op)).Int(checked((int)(gradInput.Layout.Offset + n0 * inImage))).Int(count);
            ConvGeometryArgs(args, g);
            Launch1D(Kernel("conv", "col2im", dtype), count * inImage, args);
        }
    }

    public void Conv2dBackwardWeight(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor? gradBias)
    {
        const string op = "conv2d";
        var dtype = gradWeight.DType;
        CheckFloating(op, dtype);
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels;
        long inImage = g.InImage, outImage = g.OutImage;
        int weightCount = outC * k;

        // Per image: its column matrix (unless pointwise) and its [OC, K] partial product.
        int chunk = ConvChunk(g.Batch, (g.IsPointwise ? 0 : (long)k * p) + weightCount);
        using var col = g.IsPointwise ? null : Tensor.Empty([checked(chunk * k * p)], dtype, Device);
        using var parts = chunk > 1 ? Tensor.Empty([checked(chunk * weightCount)], dtype, Device) : null;
        for (int n0 = 0; n0 < g.Batch; n0 += chunk)
        {
            int count = Math.Min(chunk, g.Batch - n0);
            GemmOperand colT; // col[n]ᵀ [P, K]: the stored [K, P] matrix read transposed (ldb = P)
            if (col == null)
                colT = new GemmOperand(Buffer(input, op), input.Layout.Offset + n0 * inImage, p, inImage, true);
            else
            {
                Im2Col(g, input, n0, count, col, op);
                colT = new GemmOperand(Buffer(col, op), col.Layout.Offset, p, (long)k * p, true);
            }
            var dy = new GemmOperand(Buffer(gradOutput, op), gradOutput.Layout.Offset + n0 * outImage, p, outImage, false);
            if (count == 1)
            {
                // One image: straight into gradWeight, adding onto the earlier chunks' sum.
                Gemm(dtype, 1, outC, k, p, dy, colT, Buffer(gradWeight, op), gradWeight.Layout.Offset, 0, 1, n0 == 0 ? 0 : 1);
                continue;
            }
            // One partial product per image, then their sum in image order onto gradWeight.
            Gemm(dtype, count, outC, k, p, dy, colT, Buffer(parts!, op), parts!.Layout.Offset, weightCount, 1, 0);
            var args = new KernelArgs();
            Arg(args, parts, op).Int(weightCount).Int(count);
            Arg(args, gradWeight, op).Int(n0 == 0 ? 0 : 1);
            Launch1D(Kernel("conv", "sum_parts", dtype), weightCount, args);
        }

        if (gradBias != null)
        {
            var args = new KernelArgs();
            Arg(Arg(args, gradOutput, op), gradBias, op).Int(g.Batch).Int(outC).Int(p);
            Runtime.Launch(Kernel("conv", "bias_grad", dtype), (outC, 1, 1), (GroupSize, 1, 1), args);
        }
    }

    /// <summary>How many images one chunk holds: as many as fit the scratch budget, at least one.</summary>
    private static int ConvChunk(int batch, long elementsPerImage) =>
        (int)Math.Clamp(ConvScratchElements / Math.Max(1, elementsPerImage), 1, batch);

    /// <summary>Fills col[0 .. count) with the column matrices of images n0 .. n0 + count of <paramref name="input"/>.</summary>
    private void Im2Col(Conv2dGeometry g, Tensor input, int n0, int count, Tensor col, string op)
    {
        long inImage = g.InImage;
        var args = new KernelArgs();
        args.Buffer(Buffer(input, op)).Int(checked((int)(input.Layout.Offset + n0 * inImage)));
        Arg(args, col, op).Int(count);
        ConvGeometryArgs(args, g);
        Launch1D(Kernel("conv", "im2col", input.DType), (long)count * g.ColumnRows * g.OutPlane, args);
    }

    /// <summary>conv.gpu's two geometry arguments: {C, H, W, KH, KW, OH, OW} and {strides, paddings, dilations}.</summary>
    private static void ConvGeometryArgs(KernelArgs args, Conv2dGeometry g)
    {
        args.Dims([g.InChannels, g.InHeight, g.InWidth, g.KernelHeight, g.KernelWidth, g.OutHeight, g.OutWidth], 1);
        args.Dims([g.StrideH, g.StrideW, g.PadH, g.PadW, g.DilationH, g.DilationW], 0);
    }
}
