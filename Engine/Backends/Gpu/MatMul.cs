using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Gpu.Cuda;

namespace Tensorium;

// Matrix products on the GPU (gemm.gpu, gemm_tf32.gpu): the device's one GEMM, behind MatMul and
// the convolution passes (which also need alpha/beta and batch strides of their own), with its
// choice of kernel, TF32 included, in this one file.
internal sealed partial class GpuBackend
{
    /// <summary>CUDA's limit on the y and z grid dimensions; the GEMM kernels loop over what lies beyond.</summary>
    private const int MaxGridYZ = 65535;

    /// <summary>
    /// One GEMM operand: a buffer and element offset, the stored matrix's leading dimension,
    /// the element stride between batch entries (0 broadcasts) and whether the stored matrix
    /// is the transpose of the operand.
    /// </summary>
    internal readonly record struct GemmOperand(nint Buffer, long Offset, int Ld, long BatchStride, bool Trans);

    /// <summary>
    /// The tiled kernel's tile shape: a TM x TN tile of C per work-group, TK-deep slabs of k in
    /// local memory, RM x RN outputs per work-item (so (TN/RN) x (TM/RM) work-items). 64 x 64
    /// tiles of 256 work-items suit current GPUs (17 KiB of local memory for float64, 16
    /// accumulators per work-item). On PoCL, 16-, 32- and 128-wide tiles were tried and none beat
    /// 64 x 64 (rough timings on a shared CPU), so every device gets the same shape for now; a
    /// per-device choice goes here, and every set returned must be on gemm.gpu's variants line.
    /// </summary>
    private static (int Tm, int Tn, int Tk, int Rm, int Rn) GemmTile => (64, 64, 16, 4, 4);

    /// <summary>
    /// gemm_large's tile shape: the classic 128 x 128 tile, 8-deep slabs, 8 x 8 outputs per
    /// work-item (256 work-items). Each work-item does 64 fmas per 4 four-float local reads where
    /// gemm_tiled does 16 per 8 scalar ones; on the variants line of gemm.gpu.
    /// </summary>
    private static (int Tm, int Tn, int Tk, int Rm, int Rn) GemmLargeTile => (128, 128, 8, 8, 8);

    /// <summary>
    /// Outputs (m * n * batch) from which gemm_large is used: below about 64 of its tiles a GPU's
    /// multiprocessors are better kept busy with gemm_tiled's four times as many. Settable so that
    /// tests can reach gemm_large on small shapes.
    /// </summary>
    internal static long GemmLargeMinOutputs { get; set; } = 1L << 20;

    public void MatMul(Tensor a, bool transA, int strideA, Tensor b, bool transB, int strideB, Tensor y, int batch, int m, int n, int k)
    {
        const string op = "matmul";
        CheckFloating(op, y.DType);
        int lda = transA ? m : k, ldb = transB ? k : n;
        Gemm(y.DType, batch, m, n, k,
            new GemmOperand(Buffer(a, op), a.Layout.Offset, lda, strideA, transA),
            new GemmOperand(Buffer(b, op), b.Layout.Offset, ldb, strideB, transB),
            Buffer(y, op), y.Layout.Offset, (long)m * n, alpha: 1, beta: 0);
    }

    /// <summary>The float-only ops' dtype check, worded like the CPU backend's.</summary>
    private void CheckFloating(string op, DType dtype)
    {
        if (!dtype.IsFloating())
            throw new NotSupportedException($"{op}: dtype {dtype.Name()} is not supported on {Device} for this op.");
    }

    /// <summary>
    /// For each batch entry i: C_i = alpha * op(A_i) * op(B_i) + beta * C_i, C_i being m x n with
    /// rows n apart, <paramref name="strideC"/> elements after C_(i-1). beta = 0 never reads C.
    /// <see cref="GemmKernelName"/> picks the kernel; the two tiled ones launch alike (one group
    /// per tile of C, with their own tile shape).
    /// </summary>
    private void Gemm(DType dtype, int batch, int m, int n, int k, GemmOperand a, GemmOperand b,
        nint c, long cOffset, long strideC, double alpha, double beta)
    {
        if (batch <= 0 || m <= 0 || n <= 0) return;
        if (TryGemmTf32(dtype, batch, m, n, k, a, b, c, cOffset, strideC, alpha, beta)) return;
        string name = GemmKernelName(dtype, batch, m, n, k, a, b, cOffset, strideC);
        bool direct = name == "gemm_direct";
        var (tm, tn, tk, rm, rn) = name == "gemm_large" ? GemmLargeTile : GemmTile;
        var kernel = direct
            ? Kernel("gemm", name, dtype)
            : Kernel("gemm", name, dtype, "TM=" + tm, "TN=" + tn, "TK=" + tk, "RM=" + rm, "RN=" + rn);

        bool isDouble = dtype == DType.Float64;
        var args = new KernelArgs();
        Operand(args, a);
        Operand(args, b);
        args.Buffer(c).Int(checked((int)cOffset)).Int(checked((int)strideC))
            .Int(m).Int(n).Int(k).Int(batch).Real(alpha, isDouble).Real(beta, isDouble);

        int gz = Math.Min(batch, MaxGridYZ);
        if (direct)
        {
            // Work-items along n (coalesced over B's rows and C's), as many as n can use.
            int lx = Math.Clamp((int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)n), 16, GroupSize);
            int ly = GroupSize / lx;
            int gx = (n + lx - 1) / lx, gy = Math.Min((m + ly - 1) / ly, MaxGridYZ);
            Runtime.Launch(kernel, (gx, gy, gz), (lx, ly, 1), args);
        }
        else
        {
            long tiles = (long)((m + tm - 1) / tm) * ((n + tn - 1) / tn);
            if (tiles > int.MaxValue) throw new ArgumentException($"matmul: {m} x {n} is more tiles than one launch covers.");
            Runtime.Launch(kernel, ((int)tiles, 1, gz), (tn / rn, tm / rm, 1), args);
        }
    }

    /// <summary>
    /// Which gemm.gpu kernel a product takes: gemm_direct for thin or tiny shapes (where a tile
    /// would be mostly padding), gemm_large for big float32 ones whose every row starts 16-byte
    /// aligned (it reads and writes four floats at a time: m, n, k, offsets, leading dimensions
    /// and batch strides all multiples of 4), gemm_tiled for the rest (float64, odd sizes,
    /// unaligned views).
    /// </summary>
    internal static string GemmKernelName(DType dtype, int batch, int m, int n, int k, GemmOperand a, GemmOperand b, long cOffset, long strideC)
    {
        if (m < 8 || n < 8 || k < 4 || (long)m * n * k < 32768) return "gemm_direct";
        var (tm, tn, tk, _, _) = GemmLargeTile;
        bool big = m >= tm && n >= tn && k >= tk && (long)m * n * batch >= GemmLargeMinOutputs;
        bool aligned = Fours(m, n, k) && Fours(a.Offset, a.Ld, a.BatchStride) && Fours(b.Offset, b.Ld, b.BatchStride) && Fours(cOffset, strideC, 0);
        return dtype == DType.Float32 && big && aligned ? "gemm_large" : "gemm_tiled";

        static bool Fours(long x, long y, long z) => x % 4 == 0 && y % 4 == 0 && z % 4 == 0;
    }

    private static void Operand(KernelArgs args, GemmOperand x) =>
        args.Buffer(x.Buffer).Int(checked((int)x.Offset)).Int(x.Ld).Int(checked((int)x.BatchStride)).Int(x.Trans ? 1 : 0);

    // ---- TF32 tensor-core products (gemm_tf32.gpu) ----------------------------------------------
    // Gemm hands float32 products here first, so MatMul and the convolution passes (im2col +
    // GEMM, as cuDNN's TF32 convolutions in PyTorch) run on tensor cores on CUDA devices of
    // compute capability 8.0 or newer while GpuSettings.AllowTf32 is on. Everything else
    // (float64, OpenCL, older GPUs, the switch off, thin products) falls through to the float32
    // kernels of gemm.gpu.

    /// <summary>gemm_tf32's tile of C (rows and columns) and threads per block: its TF_TILE and TF_THREADS.</summary>
    private const int Tf32Tile = 128, Tf32Threads = 256;

    /// <summary>Whether this device has TF32 tensor cores: a CUDA GPU of compute capability 8.0 (Ampere) or newer.</summary>
    internal bool SupportsTf32 => Runtime is CudaRuntime { ComputeCapability.Major: >= 8 };

    /// <summary>
    /// Gemm's product in TF32 (same contract and arguments) when the switch, the device and the
    /// dtype allow it and the product is not too thin for 128 x 128 tensor-core tiles (there the
    /// float32 kernels do better); returns false, having launched nothing, otherwise.
    /// </summary>
    private bool TryGemmTf32(DType dtype, int batch, int m, int n, int k, GemmOperand a, GemmOperand b,
        nint c, long cOffset, long strideC, double alpha, double beta)
    {
        if (dtype != DType.Float32 || !GpuSettings.AllowTf32 || !SupportsTf32) return false;
        if (m < 16 || n < 16 || k < 8) return false;   // (Gemm has returned already for an empty batch)

        var kernel = Kernel("gemm_tf32", "gemm_tf32", dtype, "TRANS_A=" + (a.Trans ? 1 : 0), "TRANS_B=" + (b.Trans ? 1 : 0));
        var args = new KernelArgs()
            .Buffer(a.Buffer).Long(a.Offset).Int(a.Ld).Long(a.BatchStride)
            .Buffer(b.Buffer).Long(b.Offset).Int(b.Ld).Long(b.BatchStride)
            .Buffer(c).Long(cOffset).Long(strideC)
            .Int(m).Int(n).Int(k).Int(batch).Float((float)alpha).Float((float)beta);
        long tiles = (long)((m + Tf32Tile - 1) / Tf32Tile) * ((n + Tf32Tile - 1) / Tf32Tile);
        if (tiles > int.MaxValue) throw new ArgumentException($"matmul: {m} x {n} is more tiles than one launch covers.");
        Runtime.Launch(kernel, ((int)tiles, 1, Math.Min(batch, MaxGridYZ)), (Tf32Threads, 1, 1), args);   // the kernel loops over batch entries beyond the grid
        return true;
    }
}
