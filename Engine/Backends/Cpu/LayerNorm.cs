using System.Numerics;
using Tensorium.Kernels.Ops;
using static Tensorium.CpuTensor;

namespace Tensorium;

/// <summary>The CPU's fused layer normalisation, forward and backward (Kernels/Cpu/LayerNorm.cs).</summary>
internal static unsafe class CpuLayerNorm
{
    public static void Forward(LayerNormGeometry g, Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd) =>
        DTypeDispatch.Float(y.DType, new ForwardOp(g, x, weight, bias, y, mean, rstd));

    private readonly struct ForwardOp(LayerNormGeometry g, Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd) : IFloatDTypeOp
    {
        public string Name => LayerNormGeometry.OpName;
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            Kernels.Cpu.LayerNorm.Forward(Ptr<T>(x), PtrOrNull<T>(weight), PtrOrNull<T>(bias), Ptr<T>(y), Ptr<T>(mean), Ptr<T>(rstd),
                g.Rows, g.Cols, T.CreateChecked(g.Eps));
    }

    public static void Backward(LayerNormGeometry g, Tensor x, Tensor? weight, Tensor mean, Tensor rstd, Tensor gradY,
        Tensor? gradX, Tensor? gradWeight, Tensor? gradBias) =>
        DTypeDispatch.Float(gradY.DType, new BackwardOp(g, x, weight, mean, rstd, gradY, gradX, gradWeight, gradBias));

    private readonly struct BackwardOp(LayerNormGeometry g, Tensor x, Tensor? weight, Tensor mean, Tensor rstd, Tensor gradY,
        Tensor? gradX, Tensor? gradWeight, Tensor? gradBias) : IFloatDTypeOp
    {
        public string Name => LayerNormGeometry.OpName;
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            Kernels.Cpu.LayerNorm.Backward(Ptr<T>(x), PtrOrNull<T>(weight), Ptr<T>(mean), Ptr<T>(rstd), Ptr<T>(gradY),
                PtrOrNull<T>(gradX), PtrOrNull<T>(gradWeight), PtrOrNull<T>(gradBias), g.Rows, g.Cols);
    }
}
