using System.Numerics;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Four values a thread keeps in registers: one row of a <see cref="Gemm.Tiled{T}"/> thread's
/// 4 x 4 block of C, or the four elements of B it multiplies. Named fields rather than an array
/// (kernels may not allocate arrays, and ILGPU keeps an indexed local array in slow local
/// memory, where struct fields become registers).
/// </summary>
/// <param name="X">The first value.</param>
/// <param name="Y">The second value.</param>
/// <param name="Z">The third value.</param>
/// <param name="W">The fourth value.</param>
public readonly record struct Row4<T>(T X, T Y, T Z, T W) where T : unmanaged, INumber<T>
{
    /// <summary>Four zeros.</summary>
    public static Row4<T> Zero => new(T.Zero, T.Zero, T.Zero, T.Zero);

    /// <summary>This row plus <paramref name="a"/> times each of <paramref name="b"/>: one step of an outer product.</summary>
    public Row4<T> AddScaled(T a, Row4<T> b) => new(X + a * b.X, Y + a * b.Y, Z + a * b.Z, W + a * b.W);
}
