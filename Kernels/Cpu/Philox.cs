using System.Numerics;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// Philox4x32-10, the counter-based generator of Salmon et al. (also behind curand and PyTorch's
/// GPU dropout). Element i of a draw depends only on (seed, offset + i), never on thread order,
/// so every device and thread count produces the same numbers for the same seed.
/// </summary>
public static unsafe class Philox
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
    public static uint Word(ulong seed, ulong index)
    {
        var (a, b, c, d) = Block(seed, index / 4);
        return (index % 4) switch { 0 => a, 1 => b, 2 => c, _ => d };
    }

    /// <summary>A uniform number in [0, 1) with 24 random bits (the same value for float and double).</summary>
    public static double ToUnit(uint word) => (word >> 8) * (1.0 / (1 << 24));

    /// <summary>y[i] = low + (high - low) * U(offset + i).</summary>
    public static void Uniform<T>(T* y, int count, ulong seed, ulong offset, double low, double high) where T : unmanaged, INumber<T>
    {
        nint py = (nint)y;
        CpuParallel.For((count + 1023) / 1024, chunk =>
        {
            for (int i = chunk * 1024, end = Math.Min(count, i + 1024); i < end; i++)
                ((T*)py)[i] = T.CreateTruncating(low + (high - low) * ToUnit(Word(seed, offset + (ulong)i)));
        }, 1024 * 40);
    }

    /// <summary>y[i] = mean + std * N(0,1), by Box-Muller on words 2i and 2i+1 after offset.</summary>
    public static void Normal<T>(T* y, int count, ulong seed, ulong offset, double mean, double std) where T : unmanaged, INumber<T>
    {
        nint py = (nint)y;
        CpuParallel.For((count + 1023) / 1024, chunk =>
        {
            for (int i = chunk * 1024, end = Math.Min(count, i + 1024); i < end; i++)
            {
                double u1 = ToUnit(Word(seed, offset + 2 * (ulong)i)), u2 = ToUnit(Word(seed, offset + 2 * (ulong)i + 1));
                double z = Math.Sqrt(-2 * Math.Log(1 - u1)) * Math.Cos(2 * Math.PI * u2);
                ((T*)py)[i] = T.CreateTruncating(mean + std * z);
            }
        }, 1024 * 80);
    }

    /// <summary>y[i] = 1 when U(offset + i) &lt; p, else 0.</summary>
    public static void Bernoulli<T>(T* y, int count, ulong seed, ulong offset, double p) where T : unmanaged, INumber<T>
    {
        nint py = (nint)y;
        CpuParallel.For((count + 1023) / 1024, chunk =>
        {
            for (int i = chunk * 1024, end = Math.Min(count, i + 1024); i < end; i++)
                ((T*)py)[i] = ToUnit(Word(seed, offset + (ulong)i)) < p ? T.One : T.Zero;
        }, 1024 * 40);
    }
}
