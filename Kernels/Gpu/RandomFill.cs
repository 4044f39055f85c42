using ILGPU;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Random fills from Philox, the same formulas as the CPU's (<see cref="Philox"/>), so a seed
/// draws the same numbers on every device. Thread t handles Philox block FirstBlock + t: it runs
/// the ten rounds once and writes every element whose words lie in that block (a quarter of the
/// work of one Philox call per element). Values are computed in double and rounded to the element
/// type with a C# cast, as the CPU does.
/// </summary>
public static class RandomFill
{
    /// <summary>y[0 .. draw.Count) from the draw; launched with <see cref="RandomDraw.Blocks"/> threads.</summary>
    public static void Fill<T, TCast>(Index1D thread, ArrayView<T> y, RandomDraw draw)
        where T : unmanaged where TCast : struct, ICast<double, T>
    {
        ulong block = draw.FirstBlock + (ulong)thread.X;
        var words = Philox.Block(draw.Seed, block);
        for (int k = 0; k < 4; k++)
            if (draw.TryElement(block, words, k, out int at, out double value)) y[at] = default(TCast).Cast(value);
    }
}
