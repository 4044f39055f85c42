namespace Tensorium.Kernels.Gpu;

/// <summary>
/// The iteration space of an op over two strided operands, after the backend has collapsed it
/// (see <c>StridedIndex</c>): a row-major shape of <see cref="Rank"/> dims and each operand's
/// strides. A plain struct, so a kernel takes it by value.
/// </summary>
/// <param name="rank">How many dims of <paramref name="shape"/> are used.</param>
/// <param name="shape">Sizes, outermost first.</param>
/// <param name="stridesA">The first operand's strides, in elements.</param>
/// <param name="stridesB">The second operand's strides, in elements.</param>
public readonly struct StridedLayout(int rank, Dims shape, Dims stridesA, Dims stridesB)
{
    /// <summary>How many dims of <see cref="Shape"/> are used.</summary>
    public int Rank { get; } = rank;
    /// <summary>Sizes, outermost first.</summary>
    public Dims Shape { get; } = shape;
    /// <summary>The first operand's strides, in elements.</summary>
    public Dims StridesA { get; } = stridesA;
    /// <summary>The second operand's strides, in elements.</summary>
    public Dims StridesB { get; } = stridesB;

    /// <summary>
    /// The element offset of flat index <paramref name="i"/> (row-major over <see cref="Shape"/>)
    /// in an operand with the given strides: peel off one coordinate per dim, innermost first.
    /// </summary>
    public int Offset(int i, Dims strides)
    {
        int offset = 0;
        for (int k = Rank - 1; k >= 0; k--)
        {
            int size = Shape[k];
            offset += i % size * strides[k];
            i /= size;
        }
        return offset;
    }
}
