using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// A seeded source of random numbers for tensors. Draws are counter-based (Philox): a draw of n
/// numbers uses the next n positions of the seed's stream, so the same seed and the same
/// sequence of draws give the same numbers on every run, thread count and device.
/// </summary>
/// <remarks>
/// Thread safety: any number of threads may draw from one generator at once. Each draw reserves
/// its own range of the stream atomically, so no two draws ever share (repeat) numbers. Which
/// thread gets which range depends on timing, though: models built or trained concurrently from
/// one generator (such as <see cref="Default"/>) get different numbers from run to run. When
/// results must be reproducible, give each model (or thread) its own seeded generator.
/// </remarks>
public sealed class Generator
{
    private ulong _offset;

    /// <summary>Creates a generator for a seed.</summary>
    public Generator(ulong seed) => Seed = seed;

    /// <summary>The seed (the Philox key).</summary>
    public ulong Seed { get; }

    /// <summary>How many 32-bit words of the stream have been used.</summary>
    public ulong Offset => Interlocked.Read(ref _offset);

    /// <summary>
    /// Reserves the next <paramref name="words"/> 32-bit words of the stream (rounded up to whole
    /// 4-word Philox blocks) and returns the offset of the first; read them with
    /// <c>Philox.Word(Seed, offset + i)</c>. Every draw (random tensors, shuffles) goes through here,
    /// so no two draws share a word, also when several threads draw at once.
    /// </summary>
    public ulong Advance(long words)
    {
        if (words < 0)
            throw new ArgumentOutOfRangeException(nameof(words), $"generator: got a draw of {words} words; expected 0 or more.");
        ulong size = (ulong)(words + 3) / 4 * 4;   // whole Philox blocks, so draws never share a block
        // One atomic add reserves the range: a read followed by a write let two threads read the
        // same offset and draw the same numbers.
        return Interlocked.Add(ref _offset, size) - size;
    }

    /// <summary>A generator shared by calls that pass none; seeded with 0 unless reseeded.</summary>
    public static Generator Default { get; private set; } = new(0);

    /// <summary>Replaces <see cref="Default"/> with a fresh generator for <paramref name="seed"/>.</summary>
    public static void ManualSeed(ulong seed) => Default = new Generator(seed);
}
