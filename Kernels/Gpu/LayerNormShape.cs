namespace Tensorium.Kernels.Gpu;

/// <summary>
/// What the layer normalisation kernels (<see cref="LayerNorm"/>) need besides their buffers:
/// a contiguous [Rows, Cols] input, the row launch's segment width, eps and the element count as
/// <typeparamref name="T"/> (converted on the host: ILGPU cannot compile T.CreateTruncating),
/// and whether the optional weight and bias buffers are real.
/// </summary>
/// <typeparam name="T">The element type (float or double).</typeparam>
public readonly struct LayerNormShape<T> where T : unmanaged
{
    /// <summary>Describes one call.</summary>
    /// <param name="rows">Rows normalised independently.</param>
    /// <param name="cols">Elements normalised together.</param>
    /// <param name="width">Threads per row (a power of two); 1 for the column kernel.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="count">cols as <typeparamref name="T"/>.</param>
    /// <param name="hasWeight">Forward and dx: the weight buffer is real (else scale 1). Column sums: write dweight.</param>
    /// <param name="hasBias">Forward: the bias buffer is real (else shift 0). Column sums: write dbias.</param>
    public LayerNormShape(int rows, int cols, int width, T eps, T count, bool hasWeight, bool hasBias)
    {
        Rows = rows;
        Cols = cols;
        Width = width;
        Eps = eps;
        Count = count;
        // Ints rather than bools: kernel parameters stay plain integers on every ILGPU backend.
        HasWeight = hasWeight ? 1 : 0;
        HasBias = hasBias ? 1 : 0;
    }

    /// <summary>Rows normalised independently.</summary>
    public int Rows { get; }
    /// <summary>Elements normalised together.</summary>
    public int Cols { get; }
    /// <summary>Threads per row.</summary>
    public int Width { get; }
    /// <summary>Added to the variance.</summary>
    public T Eps { get; }
    /// <summary>Cols as an element.</summary>
    public T Count { get; }
    /// <summary>1 when the weight buffer is real (or dweight is wanted), else 0.</summary>
    public int HasWeight { get; }
    /// <summary>1 when the bias buffer is real (or dbias is wanted), else 0.</summary>
    public int HasBias { get; }
}
