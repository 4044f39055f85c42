using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Gpu.Cuda;

namespace Tensorium;

// TF32 tensor-core products (gemm_tf32.gpu): Gemm hands float32 products here first, so MatMul
// and the convolution passes (im2col + GEMM, as cuDNN's TF32 convolutions in PyTorch) run on
// tensor cores on CUDA devices of compute capability 8.0 or newer while GpuSettings.AllowTf32 is
// on. Everything else (float64, OpenCL, older GPUs, the switch off, thin products) falls through
// to the float32 kernels of gemm.gpu.
internal sealed partial class GpuBackend
{
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
