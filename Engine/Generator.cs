using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// A seeded source of random numbers for tensors. Draws are counter-based (Philox): a draw of n
/// numbers uses the next n positions of the seed's stream, so the same seed and the same
/// sequence of draws give the same numbers on every run, thread count and device.
/// </summary>
public sealed class Generator
{
    /// <summary>Creates a generator for a seed.</summary>
    public Generator(ulong seed) => Seed = seed;

    /// <summary>The seed (the Philox key).</summary>
    public ulong Seed { get; }

    /// <summary>How many 32-bit words of the stream have been used.</summary>
    public ulong Offset { get; private set; }

    /// <summary>
    /// Reserves the next <paramref name="words"/> 32-bit words of the stream (rounded up to whole
    /// 4-word Philox blocks) and returns the offset of the first; read them with
    /// <c>Philox.Word(Seed, offset + i)</c>. Every draw (random tensors, shuffles) goes through here,
    /// so no two draws share a word.
    /// </summary>
    public ulong Advance(long words)
    {
        ulong start = Offset;
        Offset += (ulong)(words + 3) / 4 * 4;  // whole Philox blocks, so draws never share a block
        return start;
    }

    /// <summary>A generator shared by calls that pass none; seeded with 0 unless reseeded.</summary>
    public static Generator Default { get; private set; } = new(0);

    /// <summary>Replaces <see cref="Default"/> with a fresh generator for <paramref name="seed"/>.</summary>
    public static void ManualSeed(ulong seed) => Default = new Generator(seed);
}
