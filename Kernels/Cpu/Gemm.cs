namespace Tensorium.Kernels.Cpu;

/// <summary>
/// General matrix multiply on row-major matrices:
/// C = alpha * op(A) * op(B) + beta * C, where op(X) is X or its transpose.
/// A is m x k after op, B is k x n after op, C is m x n. When beta is 0, C is only written.
/// PLACEHOLDER: naive reference loops; to be replaced by the packed, register-blocked kernel.
/// </summary>
public static unsafe class Gemm
{
    /// <summary>Single-precision GEMM (row-major, leading dimensions in elements).</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float sum = 0;
                for (int p = 0; p < k; p++)
                    sum += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                c[i * ldc + j] = beta == 0 ? alpha * sum : alpha * sum + beta * c[i * ldc + j];
            }
    }

    /// <summary>Batched single-precision GEMM; a stride of 0 reuses one matrix for every batch entry.</summary>
    public static void SgemmBatched(int batch, bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, long strideA, float* b, int ldb, long strideB, float beta, float* c, int ldc, long strideC)
    {
        for (int i = 0; i < batch; i++)
            Sgemm(transA, transB, m, n, k, alpha, a + i * strideA, lda, b + i * strideB, ldb, beta, c + i * strideC, ldc);
    }

    /// <summary>Double-precision GEMM (row-major, leading dimensions in elements).</summary>
    public static void Dgemm(bool transA, bool transB, int m, int n, int k, double alpha,
        double* a, int lda, double* b, int ldb, double beta, double* c, int ldc)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                    sum += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                c[i * ldc + j] = beta == 0 ? alpha * sum : alpha * sum + beta * c[i * ldc + j];
            }
    }

    /// <summary>Batched double-precision GEMM; a stride of 0 reuses one matrix for every batch entry.</summary>
    public static void DgemmBatched(int batch, bool transA, bool transB, int m, int n, int k, double alpha,
        double* a, int lda, long strideA, double* b, int ldb, long strideB, double beta, double* c, int ldc, long strideC)
    {
        for (int i = 0; i < batch; i++)
            Dgemm(transA, transB, m, n, k, alpha, a + i * strideA, lda, b + i * strideB, ldb, beta, c + i * strideC, ldc);
    }
}
