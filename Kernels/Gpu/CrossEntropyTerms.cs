using System.Numerics;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// The constants of a cross-entropy launch, converted to the element type on the host exactly
/// as the CPU kernel converts them (ILGPU cannot compile <c>T.CreateTruncating</c> inside a
/// kernel), so both sides compute with the same values.
/// </summary>
public readonly struct CrossEntropyTerms<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Makes the terms for <paramref name="classes"/> classes and label smoothing <paramref name="smoothing"/>.</summary>
    public CrossEntropyTerms(int classes, int ignoreIndex, double smoothing)
    {
        Classes = classes;
        IgnoreIndex = ignoreIndex;
        Smoothing = T.CreateTruncating(smoothing);
        Keep = T.One - Smoothing;
        Spread = T.CreateTruncating(smoothing / classes);
        ClassCount = T.CreateTruncating(classes);
    }

    /// <summary>Classes per row (the row length).</summary>
    public int Classes { get; }

    /// <summary>The label whose rows get loss and gradient 0.</summary>
    public int IgnoreIndex { get; }

    /// <summary>eps, the label smoothing.</summary>
    public T Smoothing { get; }

    /// <summary>1 - eps: the target's weight on the label.</summary>
    public T Keep { get; }

    /// <summary>eps / classes: the target's weight on every class.</summary>
    public T Spread { get; }

    /// <summary>The class count as an element.</summary>
    public T ClassCount { get; }
}
