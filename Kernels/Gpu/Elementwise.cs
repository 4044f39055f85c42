using System.Numerics;
using ILGPU;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Elementwise kernels: unary math, binary ops with broadcasting, integer division that reports
/// its errors, and where. One thread per output element: thread i writes y[i] (y is contiguous)
/// and reads each input at its strided offset for i (<see cref="ElementwiseLayout.Offsets"/>; a
/// broadcast input has stride 0 there). The op is a struct type parameter, so each (type, op)
/// pair is its own compiled kernel and nothing is switched on per element.
/// </summary>
public static class Elementwise
{
    /// <summary>y[i] = op(x at i; p0, p1); the layout's first strides are x's.</summary>
    public static void Unary<T, TOp>(Index1D i, ArrayView<T> x, ArrayView<T> y, ElementwiseLayout layout, T p0, T p1)
        where T : unmanaged where TOp : struct, IUnaryOp<T>
    {
        layout.Offsets(i, out int xi, out _, out _);
        y[i] = default(TOp).Apply(x[xi], p0, p1);
    }

    /// <summary>y[i] = op(a at i, b at i); the layout's first strides are a's, the second b's.</summary>
    public static void Binary<T, TOp>(Index1D i, ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, ElementwiseLayout layout)
        where T : unmanaged where TOp : struct, IBinaryOp<T>
    {
        layout.Offsets(i, out int ai, out int bi, out _);
        y[i] = default(TOp).Apply(a[ai], b[bi]);
    }

    /// <summary>
    /// Integer y[i] = a at i / b at i (truncating), flagging what C# would throw instead of
    /// dividing: status[0] becomes 1 for a division by zero and 2 for an overflow (the type's
    /// minimum over -1); y gets 0 there. The host zeroes status before and throws after.
    /// </summary>
    public static void DivideChecked<T>(Index1D i, ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, ElementwiseLayout layout, ArrayView<int> status)
        where T : unmanaged, IBinaryInteger<T>, IMinMaxValue<T>
    {
        layout.Offsets(i, out int ai, out int bi, out _);
        T x = a[ai], z = b[bi];
        int error = z == T.Zero ? 1 : z == -T.One && x == T.MinValue ? 2 : 0;
        if (error != 0) status[0] = error;
        y[i] = error == 0 ? x / z : T.Zero;
    }

    /// <summary>y[i] = cond at i != 0 ? a at i : b at i; the layout's strides are cond's, a's, b's.</summary>
    public static void Where<T>(Index1D i, ArrayView<T> cond, ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, ElementwiseLayout layout)
        where T : unmanaged, INumber<T>
    {
        layout.Offsets(i, out int ci, out int ai, out int bi);
        y[i] = cond[ci] != T.Zero ? a[ai] : b[bi];
    }
}
