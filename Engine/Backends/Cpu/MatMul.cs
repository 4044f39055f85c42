using System.Numerics;
using Tensorium.Kernels.Cpu;
using static Tensorium.CpuTensor;

namespace Tensorium;

/// <summary>The CPU's matrix product: a call into the one GEMM (Kernels/Cpu/Gemm.cs).</summary>
internal static unsafe class CpuMatMul
{
    public static void MatMul(Tensor a, bool transA, int strideA, Tensor b, bool transB, int strideB, Tensor y, int batch, int m, int n, int k) =>
        DTypeDispatch.Float(y.DType, new MatMulOp(a, transA, strideA, b, transB, strideB, y, batch, m, n, k));

    private readonly struct MatMulOp(Tensor a, bool transA, int strideA, Tensor b, bool transB, int strideB, Tensor y, int batch, int m, int n, int k)
        : IFloatDTypeOp
    {
        public string Name => "matmul";
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            Gemm.RunBatched(batch, transA, transB, m, n, k, T.One, Ptr<T>(a), transA ? m : k, strideA, Ptr<T>(b), transB ? k : n, strideB,
                T.Zero, Ptr<T>(y), n, (long)m * n);
    }
}
