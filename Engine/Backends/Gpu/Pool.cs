using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>The GPU's 2-D max pooling (pool.gpu), with the CPU kernel's semantics.</summary>
internal sealed partial class GpuBackend
{
    public void MaxPool2d(Pool2dGeometry g, Tensor input, Tensor output, Tensor argmax) =>
        LaunchPool("max_pool2d_forward", g, input, output, argmax, (long)g.Batch * g.Channels * g.OutHeight * g.OutWidth);

    public void MaxPool2dBackward(Pool2dGeometry g, Tensor gradOutput, Tensor argmax, Tensor gradInput) =>
        LaunchPool("max_pool2d_backward", g, gradOutput, argmax, gradInput, (long)g.Batch * g.Channels * g.InHeight * g.InWidth);

    /// <summary>
    /// Runs pool.gpu's <paramref name="kernel"/> on (a, b, c) with one work-item per output element;
    /// a (the input, or the output's gradient) has the element type the kernel is built for.
    /// </summary>
    private void LaunchPool(string kernel, Pool2dGeometry g, Tensor a, Tensor b, Tensor c, long outputs)
    {
        const string op = "max_pool2d";
        long count = CheckedCount(op, outputs);
        var args = new KernelArgs();
        Arg(Arg(Arg(args, a, op), b, op), c, op);
        PoolGeometry(args.Int((int)count), g);
        Launch1D(Kernel("pool", kernel, a.DType), count, args);
    }

    private static void PoolGeometry(KernelArgs args, Pool2dGeometry g) =>
        args.Int(g.InHeight).Int(g.InWidth).Int(g.OutHeight).Int(g.OutWidth)
            .Int(g.KernelHeight).Int(g.KernelWidth).Int(g.StrideH).Int(g.StrideW).Int(g.PadH).Int(g.PadW);

}
