namespace Tensorium.Kernels.Gpu;

/// <summary>
/// A conversion from <typeparamref name="TFrom"/> to <typeparamref name="TTo"/> that a kernel
/// calls through a struct type parameter: ILGPU 1.5.3 compiles generic math's operators, T.One
/// and T.Sqrt, but fails with an internal compiler error on T.CreateTruncating.
/// </summary>
/// <typeparam name="TFrom">The source element type.</typeparam>
/// <typeparam name="TTo">The destination element type.</typeparam>
public interface ICast<TFrom, TTo> where TFrom : unmanaged where TTo : unmanaged
{
    /// <summary>The C# cast of <paramref name="x"/> (truncating toward zero, saturating, NaN to 0 for float to int), as the CPU's CreateTruncating.</summary>
    TTo Cast(TFrom x);
}

/// <summary>
/// Every conversion between the tensor element types (float, double, int, long), as C# casts:
/// the same results as the CPU backend's <c>T.CreateTruncating</c>. One struct implements all
/// sixteen, so a kernel generic over <c>TCast : ICast&lt;TSrc, TDst&gt;</c> is instantiated with
/// <see cref="Casts"/> for every pair.
/// </summary>
public readonly struct Casts :
    ICast<float, float>, ICast<float, double>, ICast<float, int>, ICast<float, long>,
    ICast<double, float>, ICast<double, double>, ICast<double, int>, ICast<double, long>,
    ICast<int, float>, ICast<int, double>, ICast<int, int>, ICast<int, long>,
    ICast<long, float>, ICast<long, double>, ICast<long, int>, ICast<long, long>
{
    float ICast<float, float>.Cast(float x) => x;
    double ICast<float, double>.Cast(float x) => x;
    int ICast<float, int>.Cast(float x) => (int)x;
    long ICast<float, long>.Cast(float x) => (long)x;
    float ICast<double, float>.Cast(double x) => (float)x;
    double ICast<double, double>.Cast(double x) => x;
    int ICast<double, int>.Cast(double x) => (int)x;
    long ICast<double, long>.Cast(double x) => (long)x;
    float ICast<int, float>.Cast(int x) => x;
    double ICast<int, double>.Cast(int x) => x;
    int ICast<int, int>.Cast(int x) => x;
    long ICast<int, long>.Cast(int x) => x;
    float ICast<long, float>.Cast(long x) => x;
    double ICast<long, double>.Cast(long x) => x;
    int ICast<long, int>.Cast(long x) => (int)x;
    long ICast<long, long>.Cast(long x) => x;
}
