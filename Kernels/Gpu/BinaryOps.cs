using System.Numerics;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Gpu;

/// <summary>One binary op, applied per element by <see cref="Elementwise.Binary{T, TOp}"/>.</summary>
/// <typeparam name="T">The element type.</typeparam>
public interface IBinaryOp<T> where T : unmanaged
{
    /// <summary>op(a, b).</summary>
    T Apply(T a, T b);
}

/// <summary>
/// Every <see cref="BinaryOp"/> as a struct for the generic binary kernel, with the semantics of
/// Kernels/Cpu/Elementwise.cs for all four element types: integer +, -, * wrap around (C#'s
/// unchecked arithmetic); maximum and minimum let NaN win; comparisons give 1 or 0. Integer
/// division is not here: it must report division by zero, so it has its own kernel
/// (<see cref="Elementwise.DivideChecked{T}"/>).
/// </summary>
public static class BinaryOps
{
    /// <summary>a + b</summary>
    public readonly struct Add<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        /// <inheritdoc/>
        public T Apply(T a, T b) => a + b;
    }

    /// <summary>a - b</summary>
    public readonly struct Sub<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        /// <inheritdoc/>
        public T Apply(T a, T b) => a - b;
    }

    /// <summary>a * b</summary>
    public readonly struct Mul<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        /// <inheritdoc/>
        public T Apply(T a, T b) => a * b;
    }

    /// <summary>a / b (floating point only: see <see cref="Elementwise.DivideChecked{T}"/> for integers)</summary>
    public readonly struct Div<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc/>
        public T Apply(T a, T b) => a / b;
    }

    /// <summary>max(a, b), NaN wins</summary>
    public readonly struct Maximum<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        /// <inheritdoc/>
        public T Apply(T a, T b) => IeeeMath.Max(a, b);
    }

    /// <summary>min(a, b), NaN wins</summary>
    public readonly struct Minimum<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        /// <inheritdoc/>
        public T Apply(T a, T b) => IeeeMath.Min(a, b);
    }

    /// <summary>1 where a == b else 0</summary>
    public readonly struct Equal<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        /// <inheritdoc/>
        public T Apply(T a, T b) => a == b ? T.One : T.Zero;
    }

    /// <summary>1 where a != b else 0</summary>
    public readonly struct NotEqual<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        /// <inheritdoc/>
        public T Apply(T a, T b) => a != b ? T.One : T.Zero;
    }

    /// <summary>1 where a &lt; b else 0</summary>
    public readonly struct Less<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        /// <inheritdoc/>
        public T Apply(T a, T b) => a < b ? T.One : T.Zero;
    }

    /// <summary>1 where a &lt;= b else 0</summary>
    public readonly struct LessEqual<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        /// <inheritdoc/>
        public T Apply(T a, T b) => a <= b ? T.One : T.Zero;
    }

    /// <summary>1 where a &gt; b else 0</summary>
    public readonly struct Greater<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        /// <inheritdoc/>
        public T Apply(T a, T b) => a > b ? T.One : T.Zero;
    }

    /// <summary>1 where a &gt;= b else 0</summary>
    public readonly struct GreaterEqual<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        /// <inheritdoc/>
        public T Apply(T a, T b) => a >= b ? T.One : T.Zero;
    }

    /// <summary>ReLU's gradient: 0 where b &lt;= 0, else a (a NaN input b passes the gradient)</summary>
    public readonly struct ReluBackward<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
    {
        /// <inheritdoc/>
        public T Apply(T a, T b) => b <= T.Zero ? T.Zero : a;
    }

    /// <summary>
    /// a ^ b through Math.Pow in double for every element type, as the CPU does; the conversions
    /// are C# casts (<see cref="Casts"/>), which for int types saturate and send NaN to 0, as the
    /// CPU's CreateTruncating does.
    /// </summary>
    public readonly struct Pow<T, TCast> : IBinaryOp<T>
        where T : unmanaged where TCast : struct, ICast<T, double>, ICast<double, T>
    {
        /// <inheritdoc/>
        public T Apply(T a, T b)
        {
            var cast = default(TCast);
            return cast.Cast(Math.Pow(cast.Cast(a), cast.Cast(b)));
        }
    }
}
