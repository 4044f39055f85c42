namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Up to <see cref="MaxRank"/> sizes or strides, passed to a kernel by value. Kernels take no
/// arrays, so the dims are eight plain fields, read through <see cref="this[int]"/>.
/// </summary>
public struct Dims
{
    /// <summary>The most dims a kernel sees (the backend collapses tensors to fewer first).</summary>
    public const int MaxRank = 8;

    private int _d0, _d1, _d2, _d3, _d4, _d5, _d6, _d7;

    /// <summary>Dim <paramref name="k"/> (0 to <see cref="MaxRank"/> - 1).</summary>
    public int this[int k]
    {
        readonly get => k switch
        {
            0 => _d0,
            1 => _d1,
            2 => _d2,
            3 => _d3,
            4 => _d4,
            5 => _d5,
            6 => _d6,
            _ => _d7,
        };
        set
        {
            switch (k)
            {
                case 0: _d0 = value; break;
                case 1: _d1 = value; break;
                case 2: _d2 = value; break;
                case 3: _d3 = value; break;
                case 4: _d4 = value; break;
                case 5: _d5 = value; break;
                case 6: _d6 = value; break;
                default: _d7 = value; break;
            }
        }
    }

    /// <summary>The dims of <paramref name="values"/>; the rest are <paramref name="fill"/>.</summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxRank"/> values.</exception>
    public static Dims From(ReadOnlySpan<int> values, int fill = 0)
    {
        if (values.Length > MaxRank) throw new ArgumentException($"gpu: rank {values.Length} exceeds the kernels' limit of {MaxRank}.");
        var dims = new Dims();
        for (int k = 0; k < MaxRank; k++) dims[k] = k < values.Length ? values[k] : fill;
        return dims;
    }
}
