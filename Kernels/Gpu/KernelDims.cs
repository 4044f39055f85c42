namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Up to <see cref="MaxRank"/> sizes or strides, passed to a kernel by value: ILGPU kernels take
/// no arrays, so the dims travel as eight plain fields (unused ones hold a fill value).
/// </summary>
public struct KernelDims
{
    /// <summary>The most dimensions a kernel iterates over (after the host merged what it could).</summary>
    public const int MaxRank = 8;

    /// <summary>Dimension 0 (outermost).</summary>
    public int D0;
    /// <summary>Dimension 1.</summary>
    public int D1;
    /// <summary>Dimension 2.</summary>
    public int D2;
    /// <summary>Dimension 3.</summary>
    public int D3;
    /// <summary>Dimension 4.</summary>
    public int D4;
    /// <summary>Dimension 5.</summary>
    public int D5;
    /// <summary>Dimension 6.</summary>
    public int D6;
    /// <summary>Dimension 7.</summary>
    public int D7;

    /// <summary>Dimension <paramref name="k"/> (0 to 7).</summary>
    public readonly int this[int k] => k switch
    {
        0 => D0,
        1 => D1,
        2 => D2,
        3 => D3,
        4 => D4,
        5 => D5,
        6 => D6,
        _ => D7,
    };

    /// <summary>
    /// The dims of <paramref name="values"/>, the rest set to <paramref name="fill"/>; throws
    /// <see cref="NotSupportedException"/> naming <paramref name="op"/> when there are more than <see cref="MaxRank"/>.
    /// </summary>
    public static KernelDims From(ReadOnlySpan<int> values, int fill, string op)
    {
        if (values.Length > MaxRank)
            throw new NotSupportedException($"{op}: {values.Length} dimensions that cannot be merged; GPU kernels take at most {MaxRank}.");
        Span<int> d = stackalloc int[MaxRank];
        d.Fill(fill);
        values.CopyTo(d);
        return new KernelDims { D0 = d[0], D1 = d[1], D2 = d[2], D3 = d[3], D4 = d[4], D5 = d[5], D6 = d[6], D7 = d[7] };
    }
}
