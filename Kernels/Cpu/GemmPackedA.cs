using System.Numerics;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// Where the GEMM gets its left operand op(A): one block at a time, already packed. The GEMM never
/// reads A except through this, so A need not exist as a matrix at all: a stored matrix packs by
/// copying (<see cref="MatrixA{T}"/>), while a convolution gathers the block of its im2col matrix
/// straight from the images (<see cref="Conv2d"/>'s weight gradient), which saves writing the
/// whole matrix to memory and reading it back ("implicit GEMM").
/// </summary>
/// <remarks>
/// GemmCore is generic over the source's type, and every source is a struct, so the JIT compiles
/// one copy of the blocking loops per source with <see cref="Pack"/> called directly, not
/// through an interface.
/// </remarks>
internal unsafe interface IPackedA<T> where T : unmanaged
{
    /// <summary>
    /// Writes rows [i0, i0 + mc) and columns [p0, p0 + kc) of op(A) into <paramref name="dst"/>
    /// as <see cref="GemmCore{T}.MR"/>-row strips, each kc steps of MR adjacent values (the
    /// layout <see cref="GemmCore{T}.PackA"/> writes), a last partial strip padded with zeros.
    /// </summary>
    void Pack(int i0, int mc, int p0, int kc, T* dst);
}

/// <summary>op(A) from a stored row-major matrix: A, or Aᵀ when transposed; rows lda elements apart.</summary>
internal readonly unsafe struct MatrixA<T>(bool transposed, T* a, int lda) : IPackedA<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc />
    public void Pack(int i0, int mc, int p0, int kc, T* dst) => GemmCore<T>.PackA(transposed, a, lda, i0, mc, p0, kc, dst);
}
