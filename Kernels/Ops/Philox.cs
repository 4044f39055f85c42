namespace Tensorium.Kernels.Ops;

/// <summary>
/// Philox4x32-10, the counter-based generator of Salmon et al. (also behind curand and PyTorch's
/// GPU dropout). Element i of a draw depends only on (seed, offset + i), never on thread order,
/// so every device and thread count produces the same numbers for the same seed. The per-element
/// formulas (<see cref="UniformAt"/>, <see cref="NormalAt"/>, <see cref="BernoulliAt"/>) are the
/// contract every backend's random kernels implement.
/// </summary>
public static class Philox
{
    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /// <summary>The four 32-bit outputs for one 128-bit counter.</summary>
    public static (uint, uint, uint, uint) Block(ulong seed, ulong counter)
    {
        uint c0 = (uint)counter, c1 = (uint)(counter >> 32), c2 = 0, c3 = 0;
        uint k0 = (uint)seed, k1 = (uint)(seed >> 32);
        for (int round = 0; round < 10; round++)
        {
            ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
            (c0, c1, c2, c3) = ((uint)(p1 >> 32) ^ c1 ^ k0, (uint)p1, (uint)(p0 >> 32) ^ c3 ^ k1, (uint)p0);
            k0 += W0; k1 += W1;
        }
        return (c0, c1, c2, c3);
    }

    /// <summary>The 32-bit random word number <paramref name="index"/> of the stream.</summary>
    public static uint Word(ulong seed, ulong index) => Pick(Block(seed, index / 4), (int)(index % 4));

    /// <summary>Output <paramref name="k"/> (0 to 3) of a block: word 4 b + k of the stream when the block's counter is b.</summary>
    public static uint Pick((uint, uint, uint, uint) block, int k) => k switch
    {
        0 => block.Item1,
        1 => block.Item2,
        2 => block.Item3,
        _ => block.Item4,
    };

    /// <summary>A uniform number in [0, 1) with 24 random bits (the same value for float and double).</summary>
    public static double ToUnit(uint word) => (word >> 8) * (1.0 / (1 << 24));

    /// <summary>Element <paramref name="index"/> of a uniform draw on [low, high): low + (high - low) U(index).</summary>
    public static double UniformAt(ulong seed, ulong index, double low, double high) => Uniform(Word(seed, index), low, high);

    /// <summary>
    /// Element <paramref name="i"/> of a normal draw starting at stream position
    /// <paramref name="offset"/>: mean + std z, with z from Box-Muller on words offset + 2i and offset + 2i + 1.
    /// </summary>
    public static double NormalAt(ulong seed, ulong offset, ulong i, double mean, double std) =>
        Normal(Word(seed, offset + 2 * i), Word(seed, offset + 2 * i + 1), mean, std);

    /// <summary>Element <paramref name="index"/> of a Bernoulli draw: 1 when U(index) &lt; p, else 0.</summary>
    public static bool BernoulliAt(ulong seed, ulong index, double p) => Bernoulli(Word(seed, index), p);

    // The per-element formulas from the words already drawn: the *At methods above call them, and so
    // do the GPU kernels, which draw a whole block of four words at once.

    /// <summary>A uniform value on [low, high) from one word.</summary>
    public static double Uniform(uint word, double low, double high) => low + (high - low) * ToUnit(word);

    /// <summary>A normal value (Box-Muller) from two consecutive words.</summary>
    public static double Normal(uint first, uint second, double mean, double std)
    {
        double u1 = ToUnit(first), u2 = ToUnit(second);
        return mean + std * (Math.Sqrt(-2 * Math.Log(1 - u1)) * Math.Cos(2 * Math.PI * u2));
    }

    /// <summary>A Bernoulli draw from one word: true when its uniform value is below p.</summary>
    public static bool Bernoulli(uint word, double p) => ToUnit(word) < p;
}
