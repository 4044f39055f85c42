using System.Numerics;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Gpu;

/// <summary>One unary op, applied per element by <see cref="Elementwise.Unary{T, TOp}"/>.</summary>
/// <typeparam name="T">The element type.</typeparam>
public interface IUnaryOp<T> where T : unmanaged
{
    /// <summary>op(x) with the op's two scalar parameters (Pow's exponent, Clamp's bounds; unused by the others).</summary>
    T Apply(T x, T p0, T p1);
}

/// <summary>
/// Every <see cref="UnaryOp"/> as a struct: the kernel is generic over it, so ILGPU compiles one
/// specialised kernel per op with no switch per element (ILGPU's GenericKernel pattern). Results
/// follow Kernels/Cpu/Unary.cs; GELU uses the same SpecialFunctions formulas as the CPU, with the
/// float fit for float32 and the exact series for float64.
/// </summary>
public static class UnaryOps
{
    /// <summary>-x</summary>
    public readonly struct Neg<T> : IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc/>
        public T Apply(T x, T p0, T p1) => -x;
    }

    /// <summary>|x|</summary>
    public readonly struct Abs<T> : IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc/>
        public T Apply(T x, T p0, T p1) => T.Abs(x);
    }

    /// <summary>e^x</summary>
    public readonly struct Exp<T> : IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc/>
        public T Apply(T x, T p0, T p1) => T.Exp(x);
    }

    /// <summary>natural log</summary>
    public readonly struct Log<T> : IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc/>
        public T Apply(T x, T p0, T p1) => T.Log(x);
    }

    /// <summary>square root</summary>
    public readonly struct Sqrt<T> : IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc/>
        public T Apply(T x, T p0, T p1) => T.Sqrt(x);
    }

    /// <summary>1 / sqrt(x), rounded twice as the CPU does (not the device's approximate rsqrt)</summary>
    public readonly struct Rsqrt<T> : IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc/>
        public T Apply(T x, T p0, T p1) => T.One / T.Sqrt(x);
    }

    /// <summary>x ^ p0</summary>
    public readonly struct Pow<T> : IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc/>
        public T Apply(T x, T p0, T p1) => T.Pow(x, p0);
    }

    /// <summary>hyperbolic tangent</summary>
    public readonly struct Tanh<T> : IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc/>
        public T Apply(T x, T p0, T p1) => T.Tanh(x);
    }

    /// <summary>1 / (1 + e^-x)</summary>
    public readonly struct Sigmoid<T> : IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc/>
        public T Apply(T x, T p0, T p1) => T.One / (T.One + T.Exp(-x));
    }

    /// <summary>max(x, 0), NaN kept</summary>
    public readonly struct Relu<T> : IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc/>
        public T Apply(T x, T p0, T p1) => IeeeMath.Max(x, T.Zero);
    }

    /// <summary>sine</summary>
    public readonly struct Sin<T> : IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc/>
        public T Apply(T x, T p0, T p1) => T.Sin(x);
    }

    /// <summary>cosine</summary>
    public readonly struct Cos<T> : IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc/>
        public T Apply(T x, T p0, T p1) => T.Cos(x);
    }

    /// <summary>min(max(x, p0), p1), NaN kept</summary>
    public readonly struct Clamp<T> : IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc/>
        public T Apply(T x, T p0, T p1) => IeeeMath.Min(IeeeMath.Max(x, p0), p1);
    }

    /// <summary>-1, 0 or 1 (NaN kept; both zeros give +0)</summary>
    public readonly struct Sign<T> : IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc/>
        public T Apply(T x, T p0, T p1) => T.IsNaN(x) ? x : x > T.Zero ? T.One : x < T.Zero ? -T.One : T.Zero;
    }

    // GELU is computed in double whatever the element type, so each element type has its own
    // struct: the conversions are plain casts (ILGPU cannot compile T.CreateTruncating) and each
    // type picks its Phi, as the CPU does.

    /// <summary>float32 GELU, x Phi(x), with the float fit of Phi.</summary>
    public readonly struct GeluSingle : IUnaryOp<float>
    {
        /// <inheritdoc/>
        public float Apply(float x, float p0, float p1) => (float)(x * SpecialFunctions.NormalCdfSingle(x));
    }

    /// <summary>float64 GELU, x Phi(x), with the exact Phi.</summary>
    public readonly struct GeluDouble : IUnaryOp<double>
    {
        /// <inheritdoc/>
        public double Apply(double x, double p0, double p1) => x * SpecialFunctions.NormalCdf(x);
    }

    /// <summary>float32 GELU derivative, Phi(x) + x phi(x), with the float fit of Phi.</summary>
    public readonly struct GeluGradSingle : IUnaryOp<float>
    {
        /// <inheritdoc/>
        public float Apply(float x, float p0, float p1)
        {
            double v = x;
            return (float)(SpecialFunctions.NormalCdfSingle(v) + v * SpecialFunctions.NormalPdf(v));
        }
    }

    /// <summary>float64 GELU derivative, Phi(x) + x phi(x), with the exact Phi.</summary>
    public readonly struct GeluGradDouble : IUnaryOp<double>
    {
        /// <inheritdoc/>
        public double Apply(double x, double p0, double p1) => SpecialFunctions.NormalCdf(x) + x * SpecialFunctions.NormalPdf(x);
    }
}
