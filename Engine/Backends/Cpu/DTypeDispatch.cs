using System.Numerics;

namespace Tensorium;

/// <summary>
/// An op body written once for every element type (float, double, int, long): the CPU
/// backend's counterpart of candle's <c>Map1</c>. Implemented by a struct so that
/// <see cref="DTypeDispatch.Any"/> gets a copy of <see cref="Run{T}"/> compiled for each T.
/// </summary>
internal interface IAnyDTypeOp
{
    /// <summary>The op's name, for the error on a dtype it does not take (read only then).</summary>
    string Name { get; }

    /// <summary>Runs the op on elements of type T.</summary>
    void Run<T>() where T : unmanaged, INumber<T>;
}

/// <summary>An op body written once for float and double; see <see cref="IAnyDTypeOp"/>.</summary>
internal interface IFloatDTypeOp
{
    /// <summary>The op's name, for the error on a dtype it does not take (read only then).</summary>
    string Name { get; }

    /// <summary>Runs the op on elements of type T.</summary>
    void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// The CPU backend's one switch from a runtime <see cref="DType"/> to a compile-time element
/// type. It runs once per op call, never per element; every op that meets a dtype it does not
/// take fails here, with the same message.
/// </summary>
internal static class DTypeDispatch
{
    /// <summary>Runs <paramref name="op"/> for any of the four dtypes.</summary>
    public static void Any<TOp>(DType dtype, TOp op) where TOp : struct, IAnyDTypeOp
    {
        switch (dtype)
        {
            case DType.Float32: op.Run<float>(); break;
            case DType.Float64: op.Run<double>(); break;
            case DType.Int32: op.Run<int>(); break;
            case DType.Int64: op.Run<long>(); break;
            default: throw Unsupported(op.Name, dtype);
        }
    }

    /// <summary>Runs <paramref name="op"/> for float32 or float64; any other dtype throws <see cref="NotSupportedException"/>.</summary>
    public static void Float<TOp>(DType dtype, TOp op) where TOp : struct, IFloatDTypeOp
    {
        switch (dtype)
        {
            case DType.Float32: op.Run<float>(); break;
            case DType.Float64: op.Run<double>(); break;
            default: throw Unsupported(op.Name, dtype);
        }
    }

    private static NotSupportedException Unsupported(string op, DType dtype) =>
        new($"{op}: dtype {dtype.Name()} is not supported on the CPU for this op.");
}
