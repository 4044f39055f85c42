using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

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
        int len = index.RowLength, si = index.InnerStride(0), di = index.InnerStride(1), rows = index.RowCount;
        nint s = (nint)src, d = (nint)dst;
        // Short rows (e.g. one attention head's 32 features) go in blocks whose offsets are walked
        // without a division per row, and a task per block rather than per row.
        int block = Math.Clamp(RowPiece / Math.Max(1, len), 1, 256);
        CpuParallel.For((rows + block - 1) / block, task =>
        {
            int first = task * block, count = Math.Min(block, rows - first);
            Span<int> fromOffsets = stackalloc int[count], toOffsets = stackalloc int[count];
            index.RowOffsets(0, first, fromOffsets);
            index.RowOffsets(1, first, toOffsets);
            for (int r = 0; r < count; r++)
            {
                var from = (TSrc*)s + fromOffsets[r];
                var to = (TDst*)d + toOffsets[r];
                if (typeof(TSrc) == typeof(TDst) && si == 1 && di == 1)
                    new ReadOnlySpan<TDst>(from, len).CopyTo(new Span<TDst>(to, len));
                else
                    for (int i = 0; i < len; i++) to[(long)i * di] = TDst.CreateTruncating(from[(long)i * si]);
            }
        }, (long)block * len);
    }

    /// <summary>y = op(a, b) where a and b are already broadcast to y's shape; y is contiguous.</summary>
    public static void Binary<T>(BinaryOp op, ReadOnlySpan<int> shape, T* a, int[] aStrides, T* b, int[] bStrides, T* y)
        where T : unmanaged, INumber<T>
    {
        // One switch per call picks a loop specialised (by the JIT) for the op; never one per element.
        switch (op)
        {
            case BinaryOp.Add: Binary<T, AddOp<T>>(shape, a, aStrides, b, bStrides, y); break;
            case BinaryOp.Sub: Binary<T, SubOp<T>>(shape, a, aStrides, b, bStrides, y); break;
            case BinaryOp.Mul: Binary<T, MulOp<T>>(shape, a, aStrides, b, bStrides, y); break;
            case BinaryOp.Div: Binary<T, DivOp<T>>(shape, a, aStrides, b, bStrides, y); break;
            case BinaryOp.Maximum: Binary<T, MaxOp<T>>(shape, a, aStrides, b, bStrides, y); break;
            case BinaryOp.Minimum: Binary<T, MinOp<T>>(shape, a, aStrides, b, bStrides, y); break;
            case BinaryOp.Pow: Binary<T, PowOp<T>>(shape, a, aStrides, b, bStrides, y); break;
            case BinaryOp.Equal: Binary<T, EqOp<T>>(shape, a, aStrides, b, bStrides, y); break;
            case BinaryOp.NotEqual: Binary<T, NeOp<T>>(shape, a, aStrides, b, bStrides, y); break;
            case BinaryOp.Less: Binary<T, LtOp<T>>(shape, a, aStrides, b, bStrides, y); break;
            case BinaryOp.LessEqual: Binary<T, LeOp<T>>(shape, a, aStrides, b, bStrides, y); break;
            case BinaryOp.Greater: Binary<T, GtOp<T>>(shape, a, aStrides, b, bStrides, y); break;
            case BinaryOp.GreaterEqual: Binary<T, GeOp<T>>(shape, a, aStrides, b, bStrides, y); break;
            case BinaryOp.ReluBackward: Binary<T, ReluBackwardOp<T>>(shape, a, aStrides, b, bStrides, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op");
        }
    }

    private static void Binary<T, TOp>(ReadOnlySpan<int> shape, T* a, int[] aStrides, T* b, int[] bStrides, T* y)
        where T : unmanaged, INumber<T> where TOp : IBinaryOp<T>
    {
        var index = new StridedIndex(shape, aStrides, bStrides, Layout(shape));
        int len = index.RowLength, sa = index.InnerStride(0), sb = index.InnerStride(1);
        nint pa = (nint)a, pb = (nint)b, py = (nint)y;
        // Contiguous operands merge into one long row: cut rows into pieces, so such a row is
        // still shared among threads (a piece of RowPiece elements is worth a hand-off).
        // An empty row (a shape with a 0) is still one piece, of no elements.
        int pieces = Math.Max(1, (len + RowPiece - 1) / RowPiece), piece = (len + pieces - 1) / pieces;
        CpuParallel.For(index.RowCount * pieces, task =>
        {
            int row = task / pieces, start = task % pieces * piece, n = Math.Min(piece, len - start);
            Row<T, TOp>((T*)pa + index.RowOffset(0, row) + (long)start * sa, sa, (T*)pb + index.RowOffset(1, row) + (long)start * sb, sb,
                (T*)py + (long)row * len + start, n);
        }, piece);
    }

    /// <summary>The most elements of one row an elementwise task handles (rows longer than this are split).</summary>
    private const int RowPiece = 1 << 14;

    /// <summary>
    /// One output row. Operands that are contiguous (stride 1) or repeated (stride 0) are read as
    /// whole vectors; any other stride falls back to one element at a time.
    /// </summary>
    private static void Row<T, TOp>(T* a, int sa, T* b, int sb, T* y, int n) where T : unmanaged, INumber<T> where TOp : IBinaryOp<T>
    {
        int i = 0, w = Vector256<T>.Count;
        if (TOp.Vectorized && Vector256.IsHardwareAccelerated && (sa | sb) is 0 or 1)
        {
            var va = Vector256.Create(*a);
            var vb = Vector256.Create(*b);
            for (; i <= n - w; i += w)
            {
                var x = sa == 1 ? Vector256.Load(a + i) : va;
                var z = sb == 1 ? Vector256.Load(b + i) : vb;
                Vector256.Store(TOp.Apply(x, z), y + i);
            }
        }
        for (; i < n; i++) y[i] = TOp.Apply(a[(long)i * sa], b[(long)i * sb]);
    }

    private interface IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        static virtual bool Vectorized => true;
        static abstract T Apply(T a, T b);
        static abstract Vector256<T> Apply(Vector256<T> a, Vector256<T> b);
    }

    private static Vector256<T> Mask<T>(Vector256<T> condition) where T : unmanaged, INumber<T> =>
        Vector256.ConditionalSelect(condition, Vector256.Create(T.One), Vector256<T>.Zero);

    private readonly struct AddOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T a, T b) => a + b;
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a + b;
    }

    private readonly struct SubOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T a, T b) => a - b;
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a - b;
    }

    private readonly struct MulOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T a, T b) => a * b;
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a * b;
    }

    private readonly struct DivOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        // Integer division has no vector instruction (and must throw on 0): scalar for ints.
        public static bool Vectorized => typeof(T) == typeof(float) || typeof(T) == typeof(double);
        public static T Apply(T a, T b) => a / b;
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a / b;
    }

    private readonly struct MaxOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        // NaN wins, like torch.maximum.
        public static T Apply(T a, T b) => T.IsNaN(a) || T.IsNaN(b) ? a + b : T.Max(a, b);
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) =>
            Vector256.ConditionalSelect(Vector256.Equals(a, a) & Vector256.Equals(b, b), Vector256.Max(a, b), a + b);
    }

    private readonly struct MinOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T a, T b) => T.IsNaN(a) || T.IsNaN(b) ? a + b : T.Min(a, b);
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) =>
            Vector256.ConditionalSelect(Vector256.Equals(a, a) & Vector256.Equals(b, b), Vector256.Min(a, b), a + b);
    }

    private readonly struct PowOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        public static bool Vectorized => false;
        public static T Apply(T a, T b) => T.CreateTruncating(Math.Pow(double.CreateTruncating(a), double.CreateTruncating(b)));
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => throw new NotSupportedException();
    }

    private readonly struct EqOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T a, T b) => a == b ? T.One : T.Zero;
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => Mask(Vector256.Equals(a, b));
    }

    private readonly struct NeOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T a, T b) => a != b ? T.One : T.Zero;
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => Mask(~Vector256.Equals(a, b));
    }

    private readonly struct LtOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T a, T b) => a < b ? T.One : T.Zero;
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => Mask(Vector256.LessThan(a, b));
    }

    private readonly struct LeOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T a, T b) => a <= b ? T.One : T.Zero;
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => Mask(Vector256.LessThanOrEqual(a, b));
    }

    private readonly struct GtOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T a, T b) => a > b ? T.One : T.Zero;
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => Mask(Vector256.GreaterThan(a, b));
    }

    private readonly struct GeOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T a, T b) => a >= b ? T.One : T.Zero;
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => Mask(Vector256.GreaterThanOrEqual(a, b));
    }

    private readonly struct ReluBackwardOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T a, T b) => b <= T.Zero ? T.Zero : a;
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => Vector256.AndNot(a, Vector256.LessThanOrEqual(b, Vector256<T>.Zero));
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
}
