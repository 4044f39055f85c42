using System.Numerics;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// A running softmax normaliser ("online softmax"): the largest element seen so far and the sum
/// of exp(x - Max) over the elements seen, so a row's max and exp-sum come from one read of it.
/// </summary>
public readonly struct Normaliser<T>(T max, T sum) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The largest element seen (-inf when none).</summary>
    public T Max { get; } = max;

    /// <summary>The sum of exp(x - Max) over the elements seen.</summary>
    public T Sum { get; } = sum;

    /// <summary>
    /// This normaliser with one more element. A new maximum rescales the sum; -inf elements are
    /// skipped (they add exp(-inf) = 0 once a finite maximum exists, and a row of nothing else is
    /// made NaN by the caller); a NaN, or a second +inf, turns the sum into NaN.
    /// </summary>
    public Normaliser<T> Add(T x)
    {
        if (x > Max) return new Normaliser<T>(x, Sum * T.Exp(Max - x) + T.One);   // exp(-inf) = 0 when nothing finite was seen
        if (x != T.NegativeInfinity) return new Normaliser<T>(Max, Sum + T.Exp(x - Max));
        return this;
    }
}

/// <summary>Merges two running normalisers: the larger maximum, each sum rescaled to it.</summary>
public readonly struct NormaliserMerge<T> : ICombine<Normaliser<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc />
    public Normaliser<T> Combine(Normaliser<T> a, Normaliser<T> b)
    {
        T max = b.Max > a.Max ? b.Max : a.Max;
        // Both empty (sums 0) or both -inf: nothing to rescale (exp(-inf - -inf) would be NaN).
        if (max == T.NegativeInfinity) return new Normaliser<T>(max, a.Sum + b.Sum);
        return new Normaliser<T>(max, a.Sum * T.Exp(a.Max - max) + b.Sum * T.Exp(b.Max - max));
    }
}
