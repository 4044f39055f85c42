using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using Tensorium.Kernels.Gpu;

namespace Tensorium;

/// <summary>
/// Matrix products on ILGPU (Kernels/Gpu/Gemm.cs): the device's one GEMM, behind MatMul, the
/// convolution passes and the recurrent layers (which need alpha/beta, leading dimensions and
/// batch strides of their own, through <see cref="Run"/>), with its choice of kernel, TF32
/// included, in this one file.
/// </summary>
internal static class GpuMatMul
{
    /// <summary>CUDA's limit on the y and z grid dimensions; the GEMM kernels loop over the batch entries beyond it.</summary>
    private const int MaxGridYZ = 65535;

    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, float, float>> DirectFloat32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, float, float>(Gemm.Direct);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, GemmShape, double, double>> DirectFloat64 =
        IlgpuKernels.Grouped<ArrayView<double>, ArrayView<double>, ArrayView<double>, GemmShape, double, double>(Gemm.Direct);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, float, float>> TiledFloat32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, float, float>(Gemm.Tiled);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, GemmShape, double, double>> TiledFloat64 =
        IlgpuKernels.Grouped<ArrayView<double>, ArrayView<double>, ArrayView<double>, GemmShape, double, double>(Gemm.Tiled);
    private static readonly IlgpuKernel<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, float, float>> Tf32Float32 =
        IlgpuKernels.Grouped<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, float, float>(Gemm.Tf32Tiled);

    /// <summary>
    /// Lets float32 products on the emulated device take the TF32 kernel (its plain-C# emulation
    /// of the tensor-core fragments) while <see cref="GpuSettings.AllowTf32"/> is on, as a CUDA
    /// device of compute capability 8.0 or newer would. Off by default: the emulated device
    /// stands for a GPU in the op suite, whose float32 references expect float32 products.
    /// Tests set it to check the TF32 kernel's indexing and data movement without a GPU.
    /// </summary>
    internal static bool EmulateTf32 { get; set; }

    /// <summary>The kernel a product takes, for tests that make sure each path is reached.</summary>
    internal enum Path { Direct, Tiled, Tf32 }

    public static void MatMul(IlgpuBackend backend, Tensor a, bool transA, int strideA, Tensor b, bool transB, int strideB, Tensor y, int batch, int m, int n, int k)
    {
        CheckFloating(backend, "matmul", y.DType);
        Run(backend, y.DType, a, a.Layout.Offset, transA, b, b.Layout.Offset, transB, y, y.Layout.Offset,
            m, n, k, transA ? m : k, transB ? k : n, n, batch, strideA, strideB, (long)m * n, alpha: 1, beta: 0);
    }

    /// <summary>The float-only ops' dtype check, worded like the CPU backend's.</summary>
    public static void CheckFloating(IlgpuBackend backend, string op, DType dtype)
    {
        if (!dtype.IsFloating())
            throw new NotSupportedException($"{op}: dtype {dtype.Name()} is not supported on {backend.Device} for this op.");
    }

    /// <summary>
    /// For each batch entry i &lt; <paramref name="batch"/>: C_i = alpha * op(A_i) * op(B_i) + beta * C_i,
    /// op(A) m x k, op(B) k x n, C m x n with rows <paramref name="ldc"/> apart. Each operand is
    /// stored row-major with its leading dimension, transposed when its flag says so; entry i
    /// starts its stride times i elements after entry 0 (0 broadcasts). Offsets are element
    /// offsets from the start of each tensor's storage (pass <c>t.Layout.Offset</c> for the
    /// tensor's first element). beta = 0 never reads C. <paramref name="dtype"/> is float32 or
    /// float64, the dtype of all three tensors. <paramref name="allowTf32"/> false keeps a float32
    /// product in float32 whatever <see cref="GpuSettings.AllowTf32"/> says (the recurrent layers,
    /// whose errors would compound over time steps).
    /// </summary>
    internal static void Run(IlgpuBackend backend, DType dtype,
        Tensor a, long aOffset, bool transA, Tensor b, long bOffset, bool transB, Tensor c, long cOffset,
        int m, int n, int k, int lda, int ldb, int ldc, int batch, long strideA, long strideB, long strideC,
        double alpha, double beta, bool allowTf32 = true)
    {
        if (batch <= 0 || m <= 0 || n <= 0) return;
        const string op = "matmul";
        var shape = new GemmShape(m, n, k, lda, ldb, ldc, transA, transB, batch, strideA, strideB, strideC);
        var path = Choose(backend, dtype, m, n, k, allowTf32);
        var config = Config(path, m, n, batch);
        if (dtype == DType.Float32)
        {
            var (va, vb, vc) = (Elements<float>(backend, a, aOffset, op), Elements<float>(backend, b, bOffset, op), Elements<float>(backend, c, cOffset, op));
            var kernel = path switch { Path.Direct => DirectFloat32, Path.Tiled => TiledFloat32, _ => Tf32Float32 };
            kernel.On(backend)(config, va, vb, vc, shape, (float)alpha, (float)beta);
        }
        else
        {
            var (va, vb, vc) = (Elements<double>(backend, a, aOffset, op), Elements<double>(backend, b, bOffset, op), Elements<double>(backend, c, cOffset, op));
            var kernel = path == Path.Direct ? DirectFloat64 : TiledFloat64;
            kernel.On(backend)(config, va, vb, vc, shape, alpha, beta);
        }
    }

    /// <summary>
    /// Which kernel an m x n x k product takes: TF32 for float32 where the switch and the device
    /// allow it and the product fills tensor-core tiles; the direct kernel for thin or tiny shapes
    /// (where a 64 x 64 tile would be mostly padding); the tiled kernel for the rest.
    /// </summary>
    internal static Path Choose(IlgpuBackend backend, DType dtype, int m, int n, int k, bool allowTf32 = true)
    {
        if (dtype == DType.Float32 && allowTf32 && GpuSettings.AllowTf32 && HasTf32(backend.Accelerator) && m >= 16 && n >= 16 && k >= 8)
            return Path.Tf32;
        if (m < 8 || n < 8 || k < 4 || (long)m * n * k < 32768) return Path.Direct;
        return Path.Tiled;
    }

    /// <summary>
    /// Whether products on this accelerator may use the TF32 kernel: a CUDA GPU of compute
    /// capability 8.0 or newer, or the emulated device while <see cref="EmulateTf32"/> is set.
    /// </summary>
    internal static bool HasTf32(Accelerator accelerator) => accelerator switch
    {
        CudaAccelerator cuda => cuda.Architecture is { } arch && arch >= CudaArchitecture.SM_80,
        CPUAccelerator => EmulateTf32,
        _ => false,
    };

    /// <summary>The launch of each kernel (see their comments in Kernels/Gpu/Gemm.cs).</summary>
    private static KernelConfig Config(Path path, int m, int n, int batch)
    {
        int entries = Math.Min(batch, MaxGridYZ);
        switch (path)
        {
            case Path.Direct:
                long groups = ((long)m * n + Gemm.DirectGroup - 1) / Gemm.DirectGroup;
                return new KernelConfig(new Index3D(checked((int)groups), entries, 1), new Index3D(Gemm.DirectGroup, 1, 1));
            case Path.Tiled:
                return new KernelConfig(new Index3D(Tiles(m, n, Gemm.TileM, Gemm.TileN), 1, entries), new Index3D(Gemm.ThreadsX, Gemm.ThreadsY, 1));
            default:
                return new KernelConfig(new Index3D(Tiles(m, n, Gemm.Tf32Tile, Gemm.Tf32Tile), 1, entries), new Index3D(Gemm.Tf32Threads, 1, 1));
        }
    }

    private static int Tiles(int m, int n, int tileM, int tileN)
    {
        long tiles = (long)((m + tileM - 1) / tileM) * ((n + tileN - 1) / tileN);
        if (tiles > int.MaxValue) throw new ArgumentException($"matmul: {m} x {n} is more tiles than one launch covers.");
        return (int)tiles;
    }

    /// <summary><paramref name="t"/>'s storage as <typeparamref name="T"/> elements from element <paramref name="offset"/> on.</summary>
    internal static ArrayView<T> Elements<T>(IlgpuBackend backend, Tensor t, long offset, string op) where T : unmanaged
    {
        var storage = t.StorageFor(op);
        return backend.Bytes(storage).Cast<T>().SubView(offset, storage.Count - offset);
    }
}
