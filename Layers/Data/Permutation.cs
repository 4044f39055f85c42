using Tensorium.Kernels.Ops;

namespace Tensorium.Data;

/// <summary>Random orderings of 0..n-1 drawn from a <see cref="Generator"/>'s Philox stream.</summary>
internal static class Permutation
{
    /// <summary>
    /// A shuffled 0..n-1 by Fisher-Yates, using the next n words of the generator's stream. Each
    /// call advances the generator, so successive epochs get new orders, while the same seed and
    /// the same sequence of calls always give the same orders (on any machine: Philox is
    /// counter-based and we never touch System.Random).
    /// </summary>
    public static int[] Draw(int n, Generator generator)
    {
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        ulong start = generator.Advance(n);
        for (int i = n - 1; i > 0; i--)
        {
            // Scale a 32-bit word to 0..i with one multiply (Lemire); the bias is below
            // (i+1)/2^32, far too small to matter for shuffling datasets.
            uint word = Philox.Word(generator.Seed, start + (ulong)(n - 1 - i));
            int j = (int)(((ulong)word * (ulong)(i + 1)) >> 32);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
