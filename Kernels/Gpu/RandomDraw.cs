using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// One random fill: element i of a <see cref="RandomKind"/> draw from the Philox stream (seed,
/// offset), for <see cref="Count"/> elements. A and B are the distribution's parameters as in
/// <see cref="RandomKind"/>.
/// </summary>
public struct RandomDraw
{
    /// <summary>Which distribution.</summary>
    public RandomKind Kind;
    /// <summary>Number of elements to write.</summary>
    public int Count;
    /// <summary>The Philox key.</summary>
    public ulong Seed;
    /// <summary>Stream position (word index) of element 0.</summary>
    public ulong Offset;
    /// <summary>Uniform: low; normal: mean; Bernoulli: p.</summary>
    public double A;
    /// <summary>Uniform: high; normal: standard deviation; Bernoulli: unused.</summary>
    public double B;

    /// <summary>Stream words the draw reads: two per element for normal (Box-Muller), else one.</summary>
    public readonly ulong Words => Kind == RandomKind.Normal ? 2 * (ulong)Count : (ulong)Count;

    /// <summary>The Philox block (counter) holding the draw's first word.</summary>
    public readonly ulong FirstBlock => Offset / 4;

    /// <summary>Threads to launch: one per Philox block the draw's words touch.</summary>
    public readonly int Blocks => Count == 0 ? 0 : (int)((Offset + Words - 1) / 4 - FirstBlock + 1);

    /// <summary>
    /// The element that word <paramref name="k"/> of block <paramref name="block"/> (whose four
    /// words are <paramref name="words"/>) produces, if any: its index <paramref name="at"/> and
    /// value, by <see cref="Philox"/>'s per-element formulas in double. A normal element is made
    /// by its even word with the next one, which with an odd offset is word 0 of the next block.
    /// </summary>
    public readonly bool TryElement(ulong block, (uint, uint, uint, uint) words, int k, out int at, out double value)
    {
        at = 0;
        value = 0;
        ulong w = block * 4 + (ulong)k;
        if (w < Offset || w >= Offset + Words) return false;
        ulong rel = w - Offset;
        uint word = Philox.Pick(words, k);
        if (Kind == RandomKind.Normal)
        {
            if (rel % 2 == 1) return false;   // the second word of a pair, used with the one before
            uint second = k < 3 ? Philox.Pick(words, k + 1) : Philox.Word(Seed, w + 1);
            at = (int)(rel / 2);
            value = Philox.Normal(word, second, A, B);
        }
        else
        {
            at = (int)rel;
            value = Kind == RandomKind.Uniform ? Philox.Uniform(word, A, B) : Philox.Bernoulli(word, A) ? 1 : 0;
        }
        return true;
    }
}
