using System.Numerics;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;
using static Tensorium.CpuTensor;

namespace Tensorium;

/// <summary>The CPU's elementwise ops: random fills, unary, binary with broadcasting, where.</summary>
internal static unsafe class CpuElementwise
{
    public static void Random(Tensor dst, RandomKind kind, ulong seed, ulong offset, double a, double b) =>
        DTypeDispatch.Float(dst.DType, new RandomOp(dst, kind, seed, offset, a, b));

    private readonly struct RandomOp(Tensor dst, RandomKind kind, ulong seed, ulong offset, double a, double b) : IFloatDTypeOp
    {
        public string Name => "random";
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> => RandomFill.Fill(kind, Ptr<T>(dst), dst.Count, seed, offset, a, b);
    }

    public static void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1)
    {
        // The unary kernels want contiguous input: copy strided views first (rare in practice).
        using var input = x.Layout.IsContiguous ? null : x.ContiguousCopy(op.ToString());
        DTypeDispatch.Float(x.DType, new UnaryBody(op, input ?? x, y, p0, p1));
    }

    private readonly struct UnaryBody(UnaryOp op, Tensor x, Tensor y, double p0, double p1) : IFloatDTypeOp
    {
        public string Name => op.ToString().ToLowerInvariant();
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            Kernels.Cpu.Unary.Apply(op, Ptr<T>(x), Ptr<T>(y), y.Count, T.CreateTruncating(p0), T.CreateTruncating(p1));
    }

    public static void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y) => DTypeDispatch.Any(y.DType, new BinaryBody(op, a, b, y));

    private readonly struct BinaryBody(BinaryOp op, Tensor a, Tensor b, Tensor y) : IAnyDTypeOp
    {
        public string Name => op.ToString().ToLowerInvariant();
        public void Run<T>() where T : unmanaged, INumber<T> =>
            Elementwise.Binary(op, y.Layout.Shape, Ptr<T>(a), a.Layout.Strides, Ptr<T>(b), b.Layout.Strides, Ptr<T>(y));
    }

    public static void Where(Tensor cond, Tensor a, Tensor b, Tensor y) => DTypeDispatch.Any(y.DType, new WhereBody(cond, a, b, y));

    private readonly struct WhereBody(Tensor cond, Tensor a, Tensor b, Tensor y) : IAnyDTypeOp
    {
        public string Name => "where";
        public void Run<T>() where T : unmanaged, INumber<T> =>
            Elementwise.Where(y.Layout.Shape, Ptr<T>(cond), cond.Layout.Strides, Ptr<T>(a), a.Layout.Strides, Ptr<T>(b), b.Layout.Strides, Ptr<T>(y));
    }
}
