using System.Numerics;

namespace Tensorium.Kernels.Gpu;

/// <summary>A row reduction of <see cref="Reduce.Rows{T, TFold}"/>: how it starts and how it combines two partial results.</summary>
public interface IRowFold<T> : ICombine<T> where T : unmanaged, INumber<T>
{
    /// <summary>The partial result a thread starts from, given the row's first element: the identity of a sum, or for max and min that element itself (combining a value twice changes neither).</summary>
    T Seed(T first);
}

/// <summary>Sum (and mean, which divides the sum).</summary>
public readonly struct SumFold<T> : IRowFold<T> where T : unmanaged, INumber<T>
{
    /// <inheritdoc />
    public T Seed(T first) => T.Zero;

    /// <inheritdoc />
    public T Combine(T a, T b) => a + b;
}

/// <summary>Max (<see cref="MaxOrder{T}"/>) or min (<see cref="MinOrder{T}"/>): keeps the preferred value.</summary>
public readonly struct ExtremeFold<T, TOrder> : IRowFold<T> where T : unmanaged, INumber<T> where TOrder : struct, IExtremeOrder<T>
{
    /// <inheritdoc />
    public T Seed(T first) => first;

    /// <inheritdoc />
    public T Combine(T a, T b) => default(TOrder).Prefers(b, a) ? b : a;
}

/// <summary>A candidate for an arg-reduction: a value and its column.</summary>
public readonly struct ArgCandidate<T>(T value, int index) where T : unmanaged
{
    /// <summary>The element.</summary>
    public T Value { get; } = value;

    /// <summary>Its column in the row.</summary>
    public int Index { get; } = index;
}

/// <summary>
/// Argmax or argmin: keeps the candidate whose value <typeparamref name="TOrder"/> prefers, and of
/// two equally good ones the smaller index. That is a strict total preference, so any order of
/// combining finds the element a left-to-right scan finds.
/// </summary>
public readonly struct ArgFold<T, TOrder> : ICombine<ArgCandidate<T>> where T : unmanaged, INumber<T> where TOrder : struct, IExtremeOrder<T>
{
    /// <inheritdoc />
    public ArgCandidate<T> Combine(ArgCandidate<T> a, ArgCandidate<T> b)
    {
        TOrder order = default;
        if (order.Prefers(b.Value, a.Value)) return b;
        if (order.Prefers(a.Value, b.Value)) return a;
        return b.Index < a.Index ? b : a;
    }
}
