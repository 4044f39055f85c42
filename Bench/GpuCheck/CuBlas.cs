using System.Runtime.InteropServices;

namespace Tensorium.GpuCheck;

/// <summary>
/// The cuBLAS baseline for the GEMM benchmarks: cublasSgemm_v2 (float32, or TF32 through the
/// handle's math mode) through function pointers from libcublas.so.*, used only here. Absent library: <see cref="TryCreate"/> returns null.
/// </summary>
internal sealed unsafe class CuBlas : IDisposable
{
    // cublas_api.h: cublasOperation_t CUBLAS_OP_N = 0; cublasMath_t CUBLAS_DEFAULT_MATH = 0 (sgemm in
    // float32) and CUBLAS_TF32_TENSOR_OP_MATH = 3 (sgemm may use TF32 tensor cores: what PyTorch sets
    // for torch.backends.cuda.matmul.allow_tf32, and the same as cublasGemmEx with compute type
    // CUBLAS_COMPUTE_32F_FAST_TF32 = 77).
    private const int OpN = 0, DefaultMath = 0, Tf32TensorOpMath = 3;
    private static readonly nint Library = Load();
    private readonly nint _handle;

    private static readonly delegate* unmanaged<nint*, int> Create = (delegate* unmanaged<nint*, int>)Export("cublasCreate_v2");
    private static readonly delegate* unmanaged<nint, int> Destroy = (delegate* unmanaged<nint, int>)Export("cublasDestroy_v2");
    private static readonly delegate* unmanaged<nint, int, int> SetMathMode = (delegate* unmanaged<nint, int, int>)Export("cublasSetMathMode");
    private static readonly delegate* unmanaged<nint, int, int, int, int, int, float*, nint, int, nint, int, float*, nint, int, int> Sgemm =
        (delegate* unmanaged<nint, int, int, int, int, int, float*, nint, int, nint, int, float*, nint, int, int>)Export("cublasSgemm_v2");

    private CuBlas(nint handle) => _handle = handle;

    private static nint Load()
    {
        foreach (var name in new[] { "libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so" })
            if (NativeLibrary.TryLoad(name, out var handle)) return handle;
        return 0;
    }

    private static nint Export(string name) => Library != 0 && NativeLibrary.TryGetExport(Library, name, out var p) ? p : 0;

    /// <summary>A cuBLAS handle on the current (primary) context, or null when cuBLAS is not installed.</summary>
    public static CuBlas? TryCreate()
    {
        if (Create == null || Sgemm == null) return null;
        nint handle;
        return Create(&handle) == 0 ? new CuBlas(handle) : null;
    }

    /// <summary>Row-major y[m, n] = a[m, k] @ b[k, n] on device pointers (column-major cuBLAS computes y^T = b^T a^T).</summary>
    public void Gemm(nint a, nint b, nint y, int m, int n, int k, bool tf32)
    {
        float alpha = 1, beta = 0;
        Check(SetMathMode(_handle, tf32 ? Tf32TensorOpMath : DefaultMath), "cublasSetMathMode");
        Check(Sgemm(_handle, OpN, OpN, n, m, k, &alpha, b, n, a, k, &beta, y, n), "cublasSgemm_v2");
    }

    private static void Check(int status, string call)
    {
        if (status != 0) throw new InvalidOperationException($"cublas: {call} failed with status {status}.");
    }

    public void Dispose() => Destroy(_handle);
}
