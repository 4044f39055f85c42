namespace Tensorium.Kernels.Gpu;

/// <summary>
/// The sizes and layout of one batched matrix product, passed to the <see cref="Gemm"/> kernels
/// as one small struct (kernels take no arrays): for each entry i &lt; <see cref="Batch"/>,
/// C_i = alpha * op(A_i) * op(B_i) + beta * C_i, with op(A) <see cref="M"/> x <see cref="K"/>
/// and op(B) <see cref="K"/> x <see cref="N"/>.
/// </summary>
/// <remarks>
/// Every matrix is stored row-major with its own leading dimension (the distance between rows).
/// A transposed operand is stored as its transpose: op(A)[r][c] = A[c * Lda + r]. Entry i of a
/// matrix starts its batch stride times i elements after entry 0; a stride of 0 broadcasts one
/// matrix over the batch.
/// </remarks>
/// <param name="M">Rows of op(A) and of C.</param>
/// <param name="N">Columns of op(B) and of C.</param>
/// <param name="K">Columns of op(A), rows of op(B): the number of terms in each sum.</param>
/// <param name="Lda">Leading dimension of the stored A (K when A is not transposed, M when it is, for a packed matrix).</param>
/// <param name="Ldb">Leading dimension of the stored B (N when B is not transposed, K when it is, for a packed matrix).</param>
/// <param name="Ldc">Leading dimension of C (at least N; larger writes into a slice of a wider matrix).</param>
/// <param name="TransA">Whether A is stored transposed.</param>
/// <param name="TransB">Whether B is stored transposed.</param>
/// <param name="Batch">Number of products.</param>
/// <param name="StrideA">Elements between consecutive entries of A (0 broadcasts).</param>
/// <param name="StrideB">Elements between consecutive entries of B (0 broadcasts).</param>
/// <param name="StrideC">Elements between consecutive entries of C.</param>
public readonly struct GemmShape(
    int M, int N, int K, int Lda, int Ldb, int Ldc, bool TransA, bool TransB,
    int Batch, long StrideA, long StrideB, long StrideC)
{
    // bool is not blittable, and ILGPU passes kernel parameters as raw bytes: the transposes
    // travel as 0 or 1.
    private readonly int _transA = TransA ? 1 : 0, _transB = TransB ? 1 : 0;

    /// <summary>Rows of op(A) and of C.</summary>
    public int M { get; } = M;

    /// <summary>Columns of op(B) and of C.</summary>
    public int N { get; } = N;

    /// <summary>Columns of op(A), rows of op(B).</summary>
    public int K { get; } = K;

    /// <summary>Leading dimension of the stored A.</summary>
    public int Lda { get; } = Lda;

    /// <summary>Leading dimension of the stored B.</summary>
    public int Ldb { get; } = Ldb;

    /// <summary>Leading dimension of C.</summary>
    public int Ldc { get; } = Ldc;

    /// <summary>Whether A is stored transposed.</summary>
    public bool TransA => _transA != 0;

    /// <summary>Whether B is stored transposed.</summary>
    public bool TransB => _transB != 0;

    /// <summary>Number of products.</summary>
    public int Batch { get; } = Batch;

    /// <summary>Elements between consecutive entries of A (0 broadcasts).</summary>
    public long StrideA { get; } = StrideA;

    /// <summary>Elements between consecutive entries of B (0 broadcasts).</summary>
    public long StrideB { get; } = StrideB;

    /// <summary>Elements between consecutive entries of C.</summary>
    public long StrideC { get; } = StrideC;

    /// <summary>Where op(A)[row][p] of the entry starting at <paramref name="entry"/> lies in A.</summary>
    public long AIndex(long entry, int row, int p) => entry + (TransA ? (long)p * Lda + row : (long)row * Lda + p);

    /// <summary>Where op(B)[p][col] of the entry starting at <paramref name="entry"/> lies in B.</summary>
    public long BIndex(long entry, int p, int col) => entry + (TransB ? (long)col * Ldb + p : (long)p * Ldb + col);

    /// <summary>Where C[row][col] of the entry starting at <paramref name="entry"/> lies in C.</summary>
    public long CIndex(long entry, int row, int col) => entry + (long)row * Ldc + col;
}
