using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

// Random draws (random.gpu) and the elementwise ops (elementwise.gpu): unary, binary, where.
internal sealed partial class GpuBackend
{
    public void Random(Tensor dst, RandomKind kind, ulong seed, ulong offset, double a, double b)
    {
        string op = kind.ToString().ToLowerInvariant();
        if (!dst.DType.IsFloating()) throw new NotSupportedException($"{op}: dtype {dst.DType.Name()} is not supported on {Device} for this op.");
        int n = dst.Count;
        if (n == 0) return;
        // One work-item per Philox block (four words) that the draw's words touch.
        ulong words = kind == RandomKind.Normal ? 2 * (ulong)n : (ulong)n;
        ulong blocks = (offset + words - 1) / 4 - offset / 4 + 1;
        var args = Arg(new KernelArgs(), dst, op).Int(n).Int((int)kind).Long((long)seed).Long((long)offset).Double(a).Double(b);
        Launch1D(Kernel("random", "random_fill", dst.DType), (long)blocks, args);
    }

    public void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1)
    {
        string name = op.ToString().ToLowerInvariant();
        if (!x.DType.IsFloating()) throw new NotSupportedException($"{name}: dtype {x.DType.Name()} is not supported on {Device} for this op.");
        var (shape, strides) = Collapse(y.Layout.Shape, x.Layout.Strides);
        bool isDouble = x.DType == DType.Float64;
        var args = Arg(new KernelArgs(), x, name).Dims(strides[0], 0);
        Arg(args, y, name).Int(y.Count).Int(shape.Length).Dims(shape, 1).Int((int)op).Real(p0, isDouble).Real(p1, isDouble);
        Launch1D(Kernel("elementwise", "unary", x.DType), y.Count, args);
    }

    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        string name = op.ToString().ToLowerInvariant();
        var (shape, strides) = Collapse(y.Layout.Shape, a.Layout.Strides, b.Layout.Strides);
        var args = Arg(new KernelArgs(), a, name).Dims(strides[0], 0);
        Arg(args, b, name).Dims(strides[1], 0);
        Arg(args, y, name).Int(y.Count).Int(shape.Length).Dims(shape, 1);
        if (op == BinaryOp.Div && !y.DType.IsFloating())
        {
            DivideChecked(args, y);
            return;
        }
        Launch1D(Kernel("elementwise", "binary", y.DType), y.Count, args.Int((int)op));
    }

    /// <summary>
    /// Integer division, which the CPU lets throw (C# integer a / b): the kernel flags a zero
    /// divisor or minimum / -1 in a status word, read back here to throw the same exception.
    /// </summary>
    private void DivideChecked(KernelArgs args, Tensor y)
    {
        if (y.Count == 0) return;
        nint status = Pool.Rent(sizeof(int));
        try
        {
            Runtime.Write(status, 0, stackalloc byte[sizeof(int)]);
            Launch1D(Kernel("elementwise", "divide_checked", y.DType), y.Count, args.Buffer(status));
            Span<int> flag = stackalloc int[1];
            Runtime.Read(status, 0, System.Runtime.InteropServices.MemoryMarshal.AsBytes(flag));
            switch (flag[0])
            {
                case 1: throw new DivideByZeroException($"div: integer division by zero ({y.DType.Name()} on {Device}).");
                case 2: throw new OverflowException($"div: integer division overflows ({y.DType.Name()} minimum / -1 on {Device}).");
            }
        }
        finally
        {
            Pool.Return(status, sizeof(int));
        }
    }

    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        var (shape, strides) = Collapse(y.Layout.Shape, cond.Layout.Strides, a.Layout.Strides, b.Layout.Strides);
        var args = Arg(new KernelArgs(), cond, "where").Dims(strides[0], 0);
        Arg(args, a, "where").Dims(strides[1], 0);
        Arg(args, b, "where").Dims(strides[2], 0);
        Arg(args, y, "where").Int(y.Count).Int(shape.Length).Dims(shape, 1);
        Launch1D(Kernel("elementwise", "where", y.DType), y.Count, args);
    }
}
