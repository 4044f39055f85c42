using System.Numerics;
using System.Runtime.InteropServices;
using Tensorium.Kernels.Cpu;
using static Tensorium.CpuTensor;

namespace Tensorium;

/// <summary>CPU memory: the buffer pool, host transfers, strided copies, fills.</summary>
internal static unsafe class CpuMemory
{
    /// <summary>64-byte aligned native buffers, so vector loads never split a cache line.</summary>
    public static BufferPool CreatePool() => new("cpu",
        bytes => (nint)NativeMemory.AlignedAlloc((nuint)bytes, 64),
        buffer => NativeMemory.AlignedFree((void*)buffer));

    public static void Upload(Storage dst, ReadOnlySpan<byte> src) => src.CopyTo(new Span<byte>((void*)dst.Handle, src.Length));

    public static void Download(Tensor src, Span<byte> dst) =>
        new ReadOnlySpan<byte>((byte*)src.StorageFor("download").Handle + (long)src.Layout.Offset * src.DType.SizeInBytes(), dst.Length).CopyTo(dst);

    /// <summary>Two dispatches, source type then destination type: a cast is a copy between any two dtypes.</summary>
    public static void Copy(Tensor src, Tensor dst) => DTypeDispatch.Any(src.DType, new CopyFrom(src, dst));

    private readonly struct CopyFrom(Tensor src, Tensor dst) : IAnyDTypeOp
    {
        public string Name => "copy";
        public void Run<TSrc>() where TSrc : unmanaged, INumber<TSrc> => DTypeDispatch.Any(dst.DType, new CopyTo<TSrc>(src, dst));
    }

    private readonly struct CopyTo<TSrc>(Tensor src, Tensor dst) : IAnyDTypeOp where TSrc : unmanaged, INumber<TSrc>
    {
        public string Name => "copy";
        public void Run<T>() where T : unmanaged, INumber<T> =>
            Elementwise.Copy(src.Layout.Shape, Ptr<TSrc>(src), src.Layout.Strides, Ptr<T>(dst), dst.Layout.Strides);
    }

    public static void Fill(Tensor dst, double value) => DTypeDispatch.Any(dst.DType, new FillOp(dst, value));

    private readonly struct FillOp(Tensor dst, double value) : IAnyDTypeOp
    {
        public string Name => "fill";
        public void Run<T>() where T : unmanaged, INumber<T> => new Span<T>(Ptr<T>(dst), dst.Count).Fill(T.CreateTruncating(value));
    }

    public static void Arange(Tensor dst, double start, double step) => DTypeDispatch.Any(dst.DType, new ArangeOp(dst, start, step));

    private readonly struct ArangeOp(Tensor dst, double start, double step) : IAnyDTypeOp
    {
        public string Name => "arange";
        public void Run<T>() where T : unmanaged, INumber<T>
        {
            // Each value computed in double, then cast, so every dtype gets the same sequence.
            T* p = Ptr<T>(dst);
            for (int i = 0; i < dst.Count; i++) p[i] = T.CreateTruncating(start + i * step);
        }
    }
}
