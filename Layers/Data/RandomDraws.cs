using Tensorium.Kernels.Ops;

namespace Tensorium.Data;

/// <summary>
/// Per-example random choices of the augmentation wrappers (a crop offset, a coin flip), drawn
/// on the host from a <see cref="Generator"/>'s Philox stream: one word per choice, so the same
/// seed and the same sequence of batches give the same choices on any machine.
/// </summary>
internal static class RandomDraws
{
    /// <summary><paramref name="count"/> integers in 0..bound-1.</summary>
    public static int[] Below(Generator generator, int count, int bound)
    {
        ulong start = generator.Advance(count);
        var values = new int[count];
        for (int i = 0; i < count; i++)
            values[i] = (int)(((ulong)Philox.Word(generator.Seed, start + (ulong)i) * (ulong)bound) >> 32);   // Lemire's multiply-shift
        return values;
    }

    /// <summary><paramref name="count"/> coins, each true with probability <paramref name="p"/>.</summary>
    public static bool[] Coins(Generator generator, int count, double p)
    {
        ulong start = generator.Advance(count);
        var coins = new bool[count];
        for (int i = 0; i < count; i++)
            coins[i] = Philox.Word(generator.Seed, start + (ulong)i) < p * 4294967296.0;
        return coins;
    }
}
