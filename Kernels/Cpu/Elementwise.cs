using System.Numerics;
using System.Numerics.Tensors;

namespace Tensorium.Kernels.Cpu;

/// <summary>Binary elementwise operations.</summary>
public enum BinaryOp
{
    /// <summary>a + b</summary>
    Add,
    /// <summary>a - b</summary>
    Sub,
    /// <summary>a * b</summary>
    Mul,
    /// <summary>a / b</summary>
    Div,
    /// <summary>max(a, b)</summary>
    Maximum,
    /// <summary>min(a, b)</summary>
    Minimum,
    /// <summary>a raised to b</summary>
    Pow,
    /// <summary>1 where a == b else 0</summary>
    Equal,
    /// <summary>1 where a != b else 0</summary>
    NotEqual,
    /// <summary>1 where a &lt; b else 0</summary>
    Less,
    /// <summary>1 where a &lt;= b else 0</summary>
    LessEqual,
    /// <summary>1 where a &gt; b else 0</summary>
    Greater,
    /// <summary>1 where a &gt;= b else 0</summary>
    GreaterEqual,
}

/// <summary>
/// Elementwise kernels over strided operands with broadcasting (a stride of 0 repeats a value).
/// The output is always contiguous. Rows whose operands are contiguous or scalar-broadcast run
/// through <see cref="TensorPrimitives"/> (vectorised); any other layout takes a scalar loop.
/// </summary>
public static unsafe class Elementwise
{
    /// <summary>Copies a strided source into a strided destination of the same shape, converting the element type.</summary>
    public static void Copy<TSrc, TDst>(ReadOnlySpan<int> shape, TSrc* src, int[] srcStrides, TDst* dst, int[] dstStrides)
        where TSrc : unmanaged, INumber<TSrc> where TDst : unmanaged, INumber<TDst>
    {
        var index = new StridedIndex(shape, srcStrides, dstStrides);
        int len = index.RowLength, si = index.InnerStride(0), di = index.InnerStride(1);
        nint s = (nint)src, d = (nint)dst;
        CpuParallel.For(index.RowCount, row =>
        {
            var from = (TSrc*)s + index.RowOffset(0, row);
            var to = (TDst*)d + index.RowOffset(1, row);
            if (typeof(TSrc) == typeof(TDst) && si == 1 && di == 1)
                new ReadOnlySpan<TDst>(from, len).CopyTo(new Span<TDst>(to, len));
            else
                for (int i = 0; i < len; i++) to[(long)i * di] = TDst.CreateTruncating(from[(long)i * si]);
        }, len);
    }

    /// <summary>y = op(a, b) where a and b are already broadcast to y's shape; y is contiguous.</summary>
    public static void Binary<T>(BinaryOp op, ReadOnlySpan<int> shape, T* a, int[] aStrides, T* b, int[] bStrides, T* y)
        where T : unmanaged, INumber<T>
    {
        var index = new StridedIndex(shape, aStrides, bStrides, Layout(shape));
        int len = index.RowLength, sa = index.InnerStride(0), sb = index.InnerStride(1);
        nint pa = (nint)a, pb = (nint)b, py = (nint)y;
        CpuParallel.For(index.RowCount, row =>
        {
            var ra = (T*)pa + index.RowOffset(0, row);
            var rb = (T*)pb + index.RowOffset(1, row);
            var ry = new Span<T>((T*)py + (long)row * len, len);
            if (!TryVectorRow(op, ra, sa, rb, sb, ry))
                for (int i = 0; i < len; i++) ry[i] = Apply(op, ra[(long)i * sa], rb[(long)i * sb]);
        }, len);
    }

    /// <summary>y = cond != 0 ? a : b over broadcast, strided operands; y contiguous.</summary>
    public static void Where<T>(ReadOnlySpan<int> shape, T* cond, int[] condStrides, T* a, int[] aStrides, T* b, int[] bStrides, T* y)
        where T : unmanaged, INumber<T>
    {
        var full = new StridedIndex(shape, condStrides, aStrides, bStrides, Layout(shape));
        int len = full.RowLength, sc = full.InnerStride(0), sa = full.InnerStride(1), sb = full.InnerStride(2);
        nint pc = (nint)cond, pa = (nint)a, pb = (nint)b, py = (nint)y;
        CpuParallel.For(full.RowCount, row =>
        {
            var rc = (T*)pc + full.RowOffset(0, row);
            var ra = (T*)pa + full.RowOffset(1, row);
            var rb = (T*)pb + full.RowOffset(2, row);
            var ry = (T*)py + full.RowOffset(3, row);
            for (int i = 0; i < len; i++)
                ry[i] = rc[(long)i * sc] != T.Zero ? ra[(long)i * sa] : rb[(long)i * sb];
        }, len);
    }

    private static int[] Layout(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        int s = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { strides[i] = s; s *= shape[i]; }
        return strides;
    }

    /// <summary>The scalar definition of each op; the vector paths must agree with it.</summary>
    public static T Apply<T>(BinaryOp op, T a, T b) where T : INumber<T> => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        BinaryOp.Maximum => T.IsNaN(a) || T.IsNaN(b) ? a + b : T.Max(a, b),
        BinaryOp.Minimum => T.IsNaN(a) || T.IsNaN(b) ? a + b : T.Min(a, b),
        BinaryOp.Pow => T.CreateTruncating(Math.Pow(double.CreateTruncating(a), double.CreateTruncating(b))),
        BinaryOp.Equal => a == b ? T.One : T.Zero,
        BinaryOp.NotEqual => a != b ? T.One : T.Zero,
        BinaryOp.Less => a < b ? T.One : T.Zero,
        BinaryOp.LessEqual => a <= b ? T.One : T.Zero,
        BinaryOp.Greater => a > b ? T.One : T.Zero,
        BinaryOp.GreaterEqual => a >= b ? T.One : T.Zero,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op"),
    };

    // Contiguous-with-contiguous and contiguous-with-scalar rows of the arithmetic ops go through
    // TensorPrimitives, which picks AVX-512/AVX2 code at run time.
    private static bool TryVectorRow<T>(BinaryOp op, T* a, int sa, T* b, int sb, Span<T> y) where T : unmanaged, INumber<T>
    {
        int n = y.Length;
        if (sa == 1 && sb == 1)
        {
            var x = new ReadOnlySpan<T>(a, n); var z = new ReadOnlySpan<T>(b, n);
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(x, z, y); return true;
                case BinaryOp.Sub: TensorPrimitives.Subtract(x, z, y); return true;
                case BinaryOp.Mul: TensorPrimitives.Multiply(x, z, y); return true;
                case BinaryOp.Div when typeof(T) == typeof(float) || typeof(T) == typeof(double): TensorPrimitives.Divide(x, z, y); return true;
            }
        }
        else if (sa == 1 && sb == 0)
        {
            var x = new ReadOnlySpan<T>(a, n);
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(x, *b, y); return true;
                case BinaryOp.Sub: TensorPrimitives.Subtract(x, *b, y); return true;
                case BinaryOp.Mul: TensorPrimitives.Multiply(x, *b, y); return true;
                case BinaryOp.Div when typeof(T) == typeof(float) || typeof(T) == typeof(double): TensorPrimitives.Divide(x, *b, y); return true;
            }
        }
        else if (sa == 0 && sb == 1)
        {
            var z = new ReadOnlySpan<T>(b, n);
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(z, *a, y); return true;
                case BinaryOp.Sub: TensorPrimitives.Subtract(*a, z, y); return true;
                case BinaryOp.Mul: TensorPrimitives.Multiply(z, *a, y); return true;
                case BinaryOp.Div when typeof(T) == typeof(float) || typeof(T) == typeof(double): TensorPrimitives.Divide(*a, z, y); return true;
            }
        }
        return false;
    }
}
