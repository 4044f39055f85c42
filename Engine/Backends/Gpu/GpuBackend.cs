using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Gpu;

namespace Tensorium;

/// <summary>
/// The GPU implementation of <see cref="IBackend"/>, written once over <see cref="GpuRuntime"/>:
/// the same kernel source and launch code run on OpenCL (any GPU, or PoCL on the CPU) and on CUDA.
/// Each op picks its kernel, compiled for the tensor's dtype, packs the arguments (buffer handle
/// plus element offset per tensor) and launches it. This file holds the memory ops and helpers;
/// the op families live in the other files of this folder, cut as the CPU backend's are.
/// </summary>
internal sealed partial class GpuBackend : IBackend
{
    /// <summary>Work-items per group for the one-dimensional (elementwise) kernels.</summary>
    private const int GroupSize = 256;

    public GpuBackend(Device device, GpuRuntime runtime)
    {
        Device = device;
        Runtime = runtime;
        Pool = new BufferPool(device.ToString(), Allocate, runtime.Free);
    }

    public Device Device { get; }
    public GpuRuntime Runtime { get; }
    public BufferPool Pool { get; }

    private nint Allocate(long bytes)
    {
        try
        {
            return Runtime.Allocate(bytes);
        }
        catch (OutOfMemoryException)
        {
            var (free, total) = Runtime.MemoryInfo();
            throw new OutOfMemoryException($"{Device}: asked for {bytes} bytes; {free} of {total} bytes are free on {Runtime.Info.Name}.");
        }
    }

    /// <summary>The C type name a dtype has in kernel source.</summary>
    private static string CType(DType dtype) => dtype switch
    {
        DType.Float32 => "float",
        DType.Float64 => "double",
        DType.Int32 => "int",
        _ => "i64",
    };

    /// <summary>
    /// <paramref name="name"/> from <paramref name="file"/>.gpu compiled for <paramref name="dtype"/>:
    /// ELEM is its C type, and for float types REAL too (REAL_IS_DOUBLE for float64).
    /// </summary>
    private GpuKernel Kernel(string file, string name, DType dtype, params string[] defines)
    {
        if (dtype == DType.Float64 && !Runtime.Info.SupportsDouble)
            throw new NotSupportedException($"{name}: {Device} ({Runtime.Info.Name}) has no float64 support.");
        string type = CType(dtype);
        string[] typeDefines = dtype switch
        {
            DType.Float32 => ["ELEM=float", "REAL=float"],
            DType.Float64 => ["ELEM=double", "REAL=double", "REAL_IS_DOUBLE"],
            _ => ["ELEM=" + type, "ELEM_IS_INT"],
        };
        return Runtime.Kernel(file, name, [.. typeDefines, .. defines]);
    }

    /// <summary>Launches a one-dimensional kernel over <paramref name="count"/> work-items, rounded up to whole groups.</summary>
    private void Launch1D(GpuKernel kernel, long count, KernelArgs args)
    {
        if (count == 0) return;
        long groups = (count + GroupSize - 1) / GroupSize;
        if (groups > int.MaxValue) throw new ArgumentException($"{kernel.Name}: {count} elements is more than one launch covers.");
        Runtime.Launch(kernel, ((int)groups, 1, 1), (GroupSize, 1, 1), args);
    }

    /// <summary>The device buffer behind <paramref name="t"/> (offset not applied: kernels take it separately).</summary>
    private static nint Buffer(Tensor t, string op) => t.StorageFor(op).Handle;

    /// <summary>Adds a tensor argument: its buffer, then its element offset.</summary>
    private static KernelArgs Arg(KernelArgs args, Tensor t, string op) => At(args, t, 0, op);

    /// <summary>Adds a tensor argument that starts <paramref name="extra"/> elements past the tensor's own offset.</summary>
    private static KernelArgs At(KernelArgs args, Tensor t, long extra, string op) =>
        args.Buffer(Buffer(t, op)).Int(checked((int)(t.Layout.Offset + extra)));

    /// <summary>Adds a scalar of the tensor's element type.</summary>
    private static KernelArgs Elem(KernelArgs args, DType dtype, double value) => dtype switch
    {
        DType.Float32 => args.Float((float)value),
        DType.Float64 => args.Double(value),
        DType.Int32 => args.Int((int)value),
        _ => args.Long((long)value),
    };

    public void Upload(Storage dst, ReadOnlySpan<byte> src) => Runtime.Write(dst.Handle, 0, src);

    public void Download(Tensor src, Span<byte> dst) =>
        Runtime.Read(Buffer(src, "download"), (long)src.Layout.Offset * src.DType.SizeInBytes(), dst);

    public void Copy(Tensor src, Tensor dst)
    {
        var kernel = Runtime.Kernel("memory", "copy_strided", "SRC=" + CType(src.DType), "DST=" + CType(dst.DType));
        var (shape, strides) = Collapse(dst.Layout.Shape, src.Layout.Strides, dst.Layout.Strides);
        var args = new KernelArgs();
        Arg(args, src, "copy").Dims(strides[0], 0);
        Arg(args, dst, "copy").Dims(strides[1], 0);
        args.Int(dst.Count).Int(shape.Length).Dims(shape, 1);
        Launch1D(kernel, dst.Count, args);
    }

    public void Fill(Tensor dst, double value)
    {
        var args = new KernelArgs();
        Elem(Arg(args, dst, "fill").Int(dst.Count), dst.DType, value);
        Launch1D(Kernel("memory", "fill", dst.DType), dst.Count, args);
    }

    public void Arange(Tensor dst, double start, double step) =>
        Launch1D(Kernel("memory", "arange", dst.DType), dst.Count, Arg(new KernelArgs(), dst, "arange").Int(dst.Count).Double(start).Double(step));

    /// <summary>
    /// The smallest equivalent iteration space (size-1 dims dropped, neighbouring dims merged where
    /// every operand steps through them as one), so kernels divide by fewer extents: the CPU's
    /// <see cref="StridedIndex"/> merge.
    /// </summary>
    private static (int[] Shape, int[][] Strides) Collapse(ReadOnlySpan<int> shape, params int[][] strides)
    {
        var merged = new StridedIndex(shape, strides);
        return (merged.Shape, merged.Strides);
    }

    /// <summary>Throws when one work-item per element would exceed the kernels' int indexing.</summary>
    private long CheckedCount(string op, long count) =>
        count <= int.MaxValue ? count : throw new NotSupportedException($"{op}: {count} elements is more than one launch on {Device} handles ({int.MaxValue}).");
}
