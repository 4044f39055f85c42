using System.Numerics;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// max and min with the CPU's rules (Math.Max/Min, TensorPrimitives.Max/Min): a NaN operand wins,
/// and +0 is above -0 (integers: the plain max and min). Written out rather than calling T.Max,
/// which ILGPU maps to the device's max instruction, whose NaN and signed-zero rules differ.
/// </summary>
public static class IeeeMath
{
    /// <summary>The larger of <paramref name="a"/> and <paramref name="b"/>; NaN when either is NaN.</summary>
    public static T Max<T>(T a, T b) where T : unmanaged, INumber<T>
    {
        if (T.IsNaN(a) || T.IsNaN(b)) return a + b;
        if (a == b) return T.IsNegative(a) ? b : a;   // +0 and -0: the one without the sign bit
        return a > b ? a : b;
    }

    /// <summary>The smaller of <paramref name="a"/> and <paramref name="b"/>; NaN when either is NaN.</summary>
    public static T Min<T>(T a, T b) where T : unmanaged, INumber<T>
    {
        if (T.IsNaN(a) || T.IsNaN(b)) return a + b;
        if (a == b) return T.IsNegative(a) ? a : b;
        return a < b ? a : b;
    }
}
