using System.Numerics;
using System.Runtime.InteropServices;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// The CPU implementation of <see cref="IBackend"/>: buffers are 64-byte aligned native memory,
/// and every op is a call into the C# SIMD kernels, switched on the dtype.
/// </summary>
internal sealed unsafe partial class CpuBackend : IBackend
{
    public static readonly CpuBackend Instance = new();

    public BufferPool Pool { get; } = new("cpu",
        bytes => (nint)NativeMemory.AlignedAlloc((nuint)bytes, 64),
        buffer => NativeMemory.AlignedFree((void*)buffer));

    /// <summary>Pointer to the first element of <paramref name="t"/> (its offset applied).</summary>
    private static T* Ptr<T>(Tensor t) where T : unmanaged => (T*)t.StorageFor("cpu").Handle + t.Layout.Offset;

    private static NotSupportedException Unsupported(string op, DType dtype) =>
        new($"{op}: dtype {dtype.Name()} is not supported on the CPU for this op.");

    public void Upload(Storage dst, ReadOnlySpan<byte> src) => src.CopyTo(new Span<byte>((void*)dst.Handle, src.Length));

    public void Download(Tensor src, Span<byte> dst) =>
        new ReadOnlySpan<byte>((byte*)src.StorageFor("download").Handle + (long)src.Layout.Offset * src.DType.SizeInBytes(), dst.Length).CopyTo(dst);

    public void Copy(Tensor src, Tensor dst)
    {
        switch (src.DType)
        {
            case DType.Float32: CopyFrom<float>(src, dst); break;
            case DType.Float64: CopyFrom<double>(src, dst); break;
            case DType.Int32: CopyFrom<int>(src, dst); break;
            default: CopyFrom<long>(src, dst); break;
        }
    }

    private static void CopyFrom<TSrc>(Tensor src, Tensor dst) where TSrc : unmanaged, INumber<TSrc>
    {
        var shape = src.Layout.Shape; var strides = src.Layout.Strides; var to = dst.Layout.Strides;
        switch (dst.DType)
        {
            case DType.Float32: Elementwise.Copy(shape, Ptr<TSrc>(src), strides, Ptr<float>(dst), to); break;
            case DType.Float64: Elementwise.Copy(shape, Ptr<TSrc>(src), strides, Ptr<double>(dst), to); break;
            case DType.Int32: Elementwise.Copy(shape, Ptr<TSrc>(src), strides, Ptr<int>(dst), to); break;
            default: Elementwise.Copy(shape, Ptr<TSrc>(src), strides, Ptr<long>(dst), to); break;
        }
    }

    public void Fill(Tensor dst, double value)
    {
        switch (dst.DType)
        {
            case DType.Float32: new Span<float>(Ptr<float>(dst), dst.Count).Fill((float)value); break;
            case DType.Float64: new Span<double>(Ptr<double>(dst), dst.Count).Fill(value); break;
            case DType.Int32: new Span<int>(Ptr<int>(dst), dst.Count).Fill((int)value); break;
            default: new Span<long>(Ptr<long>(dst), dst.Count).Fill((long)value); break;
        }
    }

    public void Arange(Tensor dst, double start, double step)
    {
        for (int i = 0; i < dst.Count; i++)
        {
            double v = start + i * step;
            switch (dst.DType)
            {
                case DType.Float32: Ptr<float>(dst)[i] = (float)v; break;
                case DType.Float64: Ptr<double>(dst)[i] = v; break;
                case DType.Int32: Ptr<int>(dst)[i] = (int)v; break;
                default: Ptr<long>(dst)[i] = (long)v; break;
            }
        }
    }

    public void Random(Tensor dst, RandomKind kind, ulong seed, ulong offset, double a, double b)
    {
        if (dst.DType == DType.Float32) RandomFill.Fill(kind, Ptr<float>(dst), dst.Count, seed, offset, a, b);
        else RandomFill.Fill(kind, Ptr<double>(dst), dst.Count, seed, offset, a, b);
    }

    public void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1)
    {
        // The unary kernels want contiguous input: copy strided views first (rare in practice).
        using var input = x.Layout.IsContiguous ? null : x.ContiguousCopy(op.ToString());
        var src = input ?? x;
        switch (x.DType)
        {
            case DType.Float32: Kernels.Cpu.Unary.Apply(op, Ptr<float>(src), Ptr<float>(y), y.Count, (float)p0, (float)p1); break;
            case DType.Float64: Kernels.Cpu.Unary.Apply(op, Ptr<double>(src), Ptr<double>(y), y.Count, p0, p1); break;
            default: throw Unsupported(op.ToString().ToLowerInvariant(), x.DType);
        }
    }

    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        switch (y.DType)
        {
            case DType.Float32: Binary<float>(op, a, b, y); break;
            case DType.Float64: Binary<double>(op, a, b, y); break;
            case DType.Int32: Binary<int>(op, a, b, y); break;
            default: Binary<long>(op, a, b, y); break;
        }
    }

    private static void Binary<T>(BinaryOp op, Tensor a, Tensor b, Tensor y) where T : unmanaged, INumber<T> =>
        Elementwise.Binary(op, y.Layout.Shape, Ptr<T>(a), a.Layout.Strides, Ptr<T>(b), b.Layout.Strides, Ptr<T>(y));

    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        switch (y.DType)
        {
            case DType.Float32: Where<float>(cond, a, b, y); break;
            case DType.Float64: Where<double>(cond, a, b, y); break;
            case DType.Int32: Where<int>(cond, a, b, y); break;
            default: Where<long>(cond, a, b, y); break;
        }
    }

    private static void Where<T>(Tensor cond, Tensor a, Tensor b, Tensor y) where T : unmanaged, INumber<T> =>
        Elementwise.Where(y.Layout.Shape, Ptr<T>(cond), cond.Layout.Strides, Ptr<T>(a), a.Layout.Strides, Ptr<T>(b), b.Layout.Strides, Ptr<T>(y));

    public void ReduceRows(ReduceOp op, Tensor x, Tensor y, int rows, int cols, int correction)
    {
        switch (x.DType)
        {
            case DType.Float32: Reduce.Rows(op, Ptr<float>(x), Ptr<float>(y), rows, cols, correction); break;
            case DType.Float64: Reduce.Rows(op, Ptr<double>(x), Ptr<double>(y), rows, cols, correction); break;
            case DType.Int32: Reduce.Rows(op, Ptr<int>(x), Ptr<int>(y), rows, cols, correction); break;
            default: Reduce.Rows(op, Ptr<long>(x), Ptr<long>(y), rows, cols, correction); break;
        }
    }

    public void ReduceColumns(ReduceOp op, Tensor x, Tensor y, int rows, int cols)
    {
        // A product with a row of ones, ones[1, R] @ x[R, C]: the GEMM streams x as it lies, where
        // a row reduction would first need x copied transposed.
        using var weights = Tensor.Full([1, rows], op == ReduceOp.Mean ? 1.0 / rows : 1.0, x.DType, x.Device);
        MatMul(weights, false, 0, x, false, 0, y, 1, 1, cols, rows);
    }

    public void ArgReduceRows(bool max, Tensor x, Tensor y, int rows, int cols)
    {
        switch (x.DType)
        {
            case DType.Float32: Reduce.ArgRows(max, Ptr<float>(x), Ptr<long>(y), rows, cols); break;
            case DType.Float64: Reduce.ArgRows(max, Ptr<double>(x), Ptr<long>(y), rows, cols); break;
            case DType.Int32: Reduce.ArgRows(max, Ptr<int>(x), Ptr<long>(y), rows, cols); break;
            default: Reduce.ArgRows(max, Ptr<long>(x), Ptr<long>(y), rows, cols); break;
        }
    }

    public void MatMul(Tensor a, bool transA, int strideA, Tensor b, bool transB, int strideB, Tensor y, int batch, int m, int n, int k)
    {
        int lda = transA ? m : k, ldb = transB ? k : n;
        switch (y.DType)
        {
            case DType.Float32:
                Gemm.SgemmBatched(batch, transA, transB, m, n, k, 1f, Ptr<float>(a), lda, strideA, Ptr<float>(b), ldb, strideB, 0f, Ptr<float>(y), n, (long)m * n);
                break;
            case DType.Float64:
                Gemm.DgemmBatched(batch, transA, transB, m, n, k, 1.0, Ptr<double>(a), lda, strideA, Ptr<double>(b), ldb, strideB, 0.0, Ptr<double>(y), n, (long)m * n);
                break;
            default: throw Unsupported("matmul", y.DType);
        }
    }

    public void Gather(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int indexAxis, int inner)
    {
        switch (x.DType)
        {
            case DType.Float32: Indexing.Gather(Ptr<float>(x), Ptr<long>(index), Ptr<float>(y), outer, xAxis, indexAxis, inner); break;
            case DType.Float64: Indexing.Gather(Ptr<double>(x), Ptr<long>(index), Ptr<double>(y), outer, xAxis, indexAxis, inner); break;
            case DType.Int32: Indexing.Gather(Ptr<int>(x), Ptr<long>(index), Ptr<int>(y), outer, xAxis, indexAxis, inner); break;
            default: Indexing.Gather(Ptr<long>(x), Ptr<long>(index), Ptr<long>(y), outer, xAxis, indexAxis, inner); break;
        }
    }

    public void ScatterAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int indexAxis, int inner)
    {
        switch (src.DType)
        {
            case DType.Float32: Indexing.ScatterAdd(Ptr<float>(src), Ptr<long>(index), Ptr<float>(y), outer, yAxis, indexAxis, inner); break;
            case DType.Float64: Indexing.ScatterAdd(Ptr<double>(src), Ptr<long>(index), Ptr<double>(y), outer, yAxis, indexAxis, inner); break;
            case DType.Int32: Indexing.ScatterAdd(Ptr<int>(src), Ptr<long>(index), Ptr<int>(y), outer, yAxis, indexAxis, inner); break;
            default: Indexing.ScatterAdd(Ptr<long>(src), Ptr<long>(index), Ptr<long>(y), outer, yAxis, indexAxis, inner); break;
        }
    }

    public void IndexSelect(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int count, int inner)
    {
        switch (x.DType)
        {
            case DType.Float32: Indexing.IndexSelect(Ptr<float>(x), Ptr<long>(index), Ptr<float>(y), outer, xAxis, count, inner); break;
            case DType.Float64: Indexing.IndexSelect(Ptr<double>(x), Ptr<long>(index), Ptr<double>(y), outer, xAxis, count, inner); break;
            case DType.Int32: Indexing.IndexSelect(Ptr<int>(x), Ptr<long>(index), Ptr<int>(y), outer, xAxis, count, inner); break;
            default: Indexing.IndexSelect(Ptr<long>(x), Ptr<long>(index), Ptr<long>(y), outer, xAxis, count, inner); break;
        }
    }

    public void IndexAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int count, int inner)
    {
        switch (src.DType)
        {
            case DType.Float32: Indexing.IndexAdd(Ptr<float>(src), Ptr<long>(index), Ptr<float>(y), outer, yAxis, count, inner); break;
            case DType.Float64: Indexing.IndexAdd(Ptr<double>(src), Ptr<long>(index), Ptr<double>(y), outer, yAxis, count, inner); break;
            case DType.Int32: Indexing.IndexAdd(Ptr<int>(src), Ptr<long>(index), Ptr<int>(y), outer, yAxis, count, inner); break;
            default: Indexing.IndexAdd(Ptr<long>(src), Ptr<long>(index), Ptr<long>(y), outer, yAxis, count, inner); break;
        }
    }

    public void OneHot(Tensor index, Tensor y, int rows, int classes)
    {
        switch (y.DType)
        {
            case DType.Float32: Indexing.OneHot(Ptr<long>(index), Ptr<float>(y), rows, classes); break;
            case DType.Float64: Indexing.OneHot(Ptr<long>(index), Ptr<double>(y), rows, classes); break;
            case DType.Int32: Indexing.OneHot(Ptr<long>(index), Ptr<int>(y), rows, classes); break;
            default: Indexing.OneHot(Ptr<long>(index), Ptr<long>(y), rows, classes); break;
        }
    }
}
