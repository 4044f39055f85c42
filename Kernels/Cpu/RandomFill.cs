using System.Numerics;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// Fills a contiguous array from the Philox stream, in parallel chunks. Each element is the
/// per-element formula of <see cref="Philox"/>, so the result does not depend on the thread count.
/// </summary>
public static unsafe class RandomFill
{
    private const int Chunk = 1024;

    /// <summary>y[i] = element i of a <paramref name="kind"/> draw from (seed, offset); a and b as in <see cref="RandomKind"/>.</summary>
    public static void Fill<T>(RandomKind kind, T* y, int count, ulong seed, ulong offset, double a, double b) where T : unmanaged, INumber<T>
    {
        nint py = (nint)y;
        // Normal draws read two words per element, so a chunk of them is about twice the work.
        int workPerChunk = Chunk * (kind == RandomKind.Normal ? 80 : 40);
        CpuParallel.For((count + Chunk - 1) / Chunk, chunk =>
        {
            for (int i = chunk * Chunk, end = Math.Min(count, i + Chunk); i < end; i++)
                ((T*)py)[i] = T.CreateTruncating(kind switch
                {
                    RandomKind.Uniform => Philox.UniformAt(seed, offset + (ulong)i, a, b),
                    RandomKind.Normal => Philox.NormalAt(seed, offset, (ulong)i, a, b),
                    _ => Philox.BernoulliAt(seed, offset + (ulong)i, a) ? 1.0 : 0.0,
                });
        }, workPerChunk);
    }
}
