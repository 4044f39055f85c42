using System.Numerics;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Which of two values a max or min reduction prefers, with the CPU's (TensorPrimitives')
/// special cases: NaN wins over any number, and +0 counts as larger than -0.
/// </summary>
public interface IExtremeOrder<T> where T : unmanaged, INumber<T>
{
    /// <summary>True when <paramref name="a"/> is strictly preferred to <paramref name="b"/> (false when they are equally good, such as two NaNs).</summary>
    bool Prefers(T a, T b);
}

/// <summary>The order of max and argmax: NaN first, then larger values, +0 over -0.</summary>
public readonly struct MaxOrder<T> : IExtremeOrder<T> where T : unmanaged, INumber<T>
{
    /// <inheritdoc />
    public bool Prefers(T a, T b)
    {
        if (T.IsNaN(b)) return false;
        if (T.IsNaN(a)) return true;
        // Equal values differ only for the two zeros: +0 beats -0.
        if (a == b) return T.IsNegative(b) && !T.IsNegative(a);
        return a > b;
    }
}

/// <summary>The order of min and argmin: NaN first, then smaller values, -0 over +0.</summary>
public readonly struct MinOrder<T> : IExtremeOrder<T> where T : unmanaged, INumber<T>
{
    /// <inheritdoc />
    public bool Prefers(T a, T b)
    {
        if (T.IsNaN(b)) return false;
        if (T.IsNaN(a)) return true;
        if (a == b) return T.IsNegative(a) && !T.IsNegative(b);
        return a < b;
    }
}
