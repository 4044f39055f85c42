using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>Batched matrix multiplication (GEMM). Placeholder: the family's ILGPU kernels replace this file.</summary>
internal static class GpuMatMul
{
    public static void MatMul(IlgpuBackend backend, Tensor a, bool transA, int strideA, Tensor b, bool transB, int strideB, Tensor y, int batch, int m, int n, int k) =>
        throw new NotSupportedException("matmul: not on ILGPU yet");
}
