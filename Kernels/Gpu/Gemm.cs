using System.Numerics;
using ILGPU;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Batched matrix products on ILGPU: for each entry i, C_i = alpha * op(A_i) * op(B_i) + beta * C_i,
/// with sizes, transposes, leading dimensions and batch strides in a <see cref="GemmShape"/>.
/// beta = 0 never reads C (it may hold NaN). Three kernels, chosen by the host:
/// <list type="bullet">
/// <item><see cref="Direct{T}"/>: one thread per element of C, a plain dot product, for small or
/// thin shapes where a tile would be mostly padding.</item>
/// <item><see cref="Tiled{T}"/>: a group computes a <see cref="TileM"/> x <see cref="TileN"/>
/// tile of C, walking k in <see cref="TileK"/>-deep slabs staged in shared memory; each of its
/// threads keeps a <see cref="RegM"/> x <see cref="RegN"/> block of C in registers.</item>
/// <item><see cref="Tf32Tiled"/>: float32 on TF32 tensor cores (mma.sync m16n8k8), with inputs
/// rounded to TF32; emulated in plain C# off CUDA (see <see cref="Tf32"/>).</item>
/// </list>
/// Every kernel takes the whole buffers of A, B and C as views starting at entry 0 of each, and
/// loops over batch entries beyond the grid's z (or y) extent.
/// </summary>
public static class Gemm
{
    /// <summary>Rows of C per tile of <see cref="Tiled{T}"/>.</summary>
    public const int TileM = 64;

    /// <summary>Columns of C per tile of <see cref="Tiled{T}"/>.</summary>
    public const int TileN = 64;

    /// <summary>Depth (terms of k) of each slab <see cref="Tiled{T}"/> stages in shared memory.</summary>
    public const int TileK = 16;

    /// <summary>Rows of C each thread of <see cref="Tiled{T}"/> accumulates (its four <see cref="Row4{T}"/> accumulators).</summary>
    public const int RegM = 4;

    /// <summary>Columns of C each thread of <see cref="Tiled{T}"/> accumulates (the four fields of a <see cref="Row4{T}"/>).</summary>
    public const int RegN = 4;

    /// <summary>Threads along x (the tile's columns) of a <see cref="Tiled{T}"/> group.</summary>
    public const int ThreadsX = TileN / RegN;

    /// <summary>Threads along y (the tile's rows) of a <see cref="Tiled{T}"/> group.</summary>
    public const int ThreadsY = TileM / RegM;

    /// <summary>Threads of a <see cref="Direct{T}"/> group (launched as a 1-D group).</summary>
    public const int DirectGroup = 256;

    /// <summary>Rows and columns of C per tile of <see cref="Tf32Tiled"/>.</summary>
    public const int Tf32Tile = 128;

    /// <summary>Depth of each slab of <see cref="Tf32Tiled"/>: two mma k-steps of 8.</summary>
    public const int Tf32TileK = 16;

    /// <summary>Threads (8 warps of 32) of a <see cref="Tf32Tiled"/> group, launched as a 1-D group.</summary>
    public const int Tf32Threads = 256;

    // Shared-memory rows are padded by one element so that the column-wise reads of the tiled
    // kernel hit distinct banks.
    private const int LdTileA = TileM + 1;
    private const int LdTileB = TileN + 1;

    // The TF32 tiles are kept k-contiguous for both operands ([row][kk] for A, [col][kk] for B),
    // rows of 16 + 4 words: the fragment reads of lane (g, t) then fall in bank 20g + t (mod 32),
    // all distinct.
    private const int LdTf32 = Tf32TileK + 4;
    private const int Tf32Loads = Tf32Tile * Tf32TileK / Tf32Threads;

    /// <summary>
    /// One thread per element of C, row-major over the m x n elements of an entry (so neighbouring
    /// threads read neighbouring columns of B and write neighbouring elements of C). Launch: 1-D
    /// groups of <see cref="DirectGroup"/> threads, grid x = ceil(m * n / group), grid y = batch
    /// entries (the kernel loops over entries beyond the grid).
    /// </summary>
    public static void Direct<T>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, GemmShape s, T alpha, T beta)
        where T : unmanaged, INumber<T>
    {
        long e = (long)Grid.IdxX * Group.DimX + Group.IdxX;
        if (e >= (long)s.M * s.N) return;
        int row = (int)(e / s.N), col = (int)(e % s.N);
        // Steps between consecutive terms along a row of op(A) and down a column of op(B).
        long stepA = s.TransA ? s.Lda : 1, stepB = s.TransB ? 1 : s.Ldb;
        for (int entry = Grid.IdxY; entry < s.Batch; entry += Grid.DimY)
        {
            long pa = s.AIndex(entry * s.StrideA, row, 0), pb = s.BIndex(entry * s.StrideB, 0, col);
            T acc = T.Zero;
            for (int p = 0; p < s.K; p++) acc += a[pa + p * stepA] * b[pb + p * stepB];
            long at = s.CIndex(entry * s.StrideC, row, col);
            c[at] = beta == T.Zero ? alpha * acc : alpha * acc + beta * c[at];
        }
    }

    /// <summary>
    /// A group computes one <see cref="TileM"/> x <see cref="TileN"/> tile of C: k advances in
    /// <see cref="TileK"/>-deep slabs of op(A) and op(B) staged in shared memory (loaded along
    /// each stored matrix's contiguous axis, zero past the edges, so any m, n, k work), and each
    /// thread accumulates a <see cref="RegM"/> x <see cref="RegN"/> block of C. Launch: groups of
    /// (<see cref="ThreadsX"/>, <see cref="ThreadsY"/>), grid x = tiles of C (row-major over
    /// tiles), grid z = batch entries (the kernel loops over entries beyond the grid).
    /// </summary>
    public static void Tiled<T>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, GemmShape s, T alpha, T beta)
        where T : unmanaged, INumber<T>
    {
        var tileA = SharedMemory.Allocate<T>(TileK * LdTileA);   // tileA[kk][i] = op(A)[row0 + i][k0 + kk]
        var tileB = SharedMemory.Allocate<T>(TileK * LdTileB);   // tileB[kk][j] = op(B)[k0 + kk][col0 + j]
        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * ThreadsX + tx;
        const int threads = ThreadsX * ThreadsY;
        int tilesN = (s.N + TileN - 1) / TileN;
        int row0 = Grid.IdxX / tilesN * TileM, col0 = Grid.IdxX % tilesN * TileN;

        for (int entry = Grid.IdxZ; entry < s.Batch; entry += Grid.DimZ)
        {
            long pa = entry * s.StrideA, pb = entry * s.StrideB, pc = entry * s.StrideC;
            // Row r of this thread's block is row ty + r * ThreadsY of the tile (see below).
            Row4<T> acc0 = Row4<T>.Zero, acc1 = Row4<T>.Zero, acc2 = Row4<T>.Zero, acc3 = Row4<T>.Zero;

            for (int k0 = 0; k0 < s.K; k0 += TileK)
            {
                // Consecutive threads read consecutive addresses: along k when A is stored as is,
                // along m when it is stored transposed; along n for B as is, along k transposed.
                for (int l = tid; l < TileM * TileK; l += threads)
                {
                    int i = s.TransA ? l % TileM : l / TileK, kk = s.TransA ? l / TileM : l % TileK;
                    int gi = row0 + i, gk = k0 + kk;
                    tileA[kk * LdTileA + i] = gi < s.M && gk < s.K ? a[s.AIndex(pa, gi, gk)] : T.Zero;
                }
                for (int l = tid; l < TileK * TileN; l += threads)
                {
                    int j = s.TransB ? l / TileK : l % TileN, kk = s.TransB ? l % TileK : l / TileN;
                    int gj = col0 + j, gk = k0 + kk;
                    tileB[kk * LdTileB + j] = gj < s.N && gk < s.K ? b[s.BIndex(pb, gk, gj)] : T.Zero;
                }
                Group.Barrier();

                // Thread (tx, ty) owns rows ty + r * ThreadsY and columns tx + q * ThreadsX of the
                // tile: strided, so that neighbouring threads read neighbouring shared words and
                // write neighbouring columns of C. Its 4 x 4 block stays in registers (Row4 fields).
                for (int kk = 0; kk < TileK; kk++)
                {
                    int atA = kk * LdTileA + ty, atB = kk * LdTileB + tx;
                    var rb = new Row4<T>(tileB[atB], tileB[atB + ThreadsX], tileB[atB + 2 * ThreadsX], tileB[atB + 3 * ThreadsX]);
                    acc0 = acc0.AddScaled(tileA[atA], rb);
                    acc1 = acc1.AddScaled(tileA[atA + ThreadsY], rb);
                    acc2 = acc2.AddScaled(tileA[atA + 2 * ThreadsY], rb);
                    acc3 = acc3.AddScaled(tileA[atA + 3 * ThreadsY], rb);
                }
                // The next slab overwrites the tiles only after every thread has read them.
                Group.Barrier();
            }

            int col = col0 + tx;
            StoreRow(c, s, pc, row0 + ty, col, acc0, alpha, beta);
            StoreRow(c, s, pc, row0 + ty + ThreadsY, col, acc1, alpha, beta);
            StoreRow(c, s, pc, row0 + ty + 2 * ThreadsY, col, acc2, alpha, beta);
            StoreRow(c, s, pc, row0 + ty + 3 * ThreadsY, col, acc3, alpha, beta);
        }
    }

    /// <summary>
    /// Writes one row of a <see cref="Tiled{T}"/> thread's block: columns col + q * ThreadsX of
    /// C's row <paramref name="row"/>, those inside the matrix, as alpha * acc + beta * C.
    /// </summary>
    private static void StoreRow<T>(ArrayView<T> c, GemmShape s, long pc, int row, int col, Row4<T> acc, T alpha, T beta)
        where T : unmanaged, INumber<T>
    {
        if (row >= s.M) return;
        Store(c, s, pc, row, col, acc.X, alpha, beta);
        Store(c, s, pc, row, col + ThreadsX, acc.Y, alpha, beta);
        Store(c, s, pc, row, col + 2 * ThreadsX, acc.Z, alpha, beta);
        Store(c, s, pc, row, col + 3 * ThreadsX, acc.W, alpha, beta);
    }

    /// <summary>C[row][col] = alpha * acc + beta * C[row][col] when col is inside C; beta = 0 never reads C.</summary>
    private static void Store<T>(ArrayView<T> c, GemmShape s, long pc, int row, int col, T acc, T alpha, T beta)
        where T : unmanaged, INumber<T>
    {
        if (col >= s.N) return;
        long at = s.CIndex(pc, row, col);
        c[at] = beta == T.Zero ? alpha * acc : alpha * acc + beta * c[at];
    }

    /// <summary>
    /// Float32 products on TF32 tensor cores: each input rounded to TF32 (<see cref="Tf32.Round"/>),
    /// products summed in float32 by <see cref="Tf32.Mma"/>. A group of <see cref="Tf32Threads"/>
    /// threads (8 warps) computes a <see cref="Tf32Tile"/> x <see cref="Tf32Tile"/> tile of C;
    /// warp w takes rows 64 * (w / 4) .. +64 and columns 32 * (w % 4) .. +32 as 4 x 4 mma tiles
    /// of 16 x 8, 64 accumulators per thread. k advances in <see cref="Tf32TileK"/>-deep slabs
    /// staged (rounded) in shared memory, loaded along each stored matrix's contiguous axis and
    /// zero past the edges, so any m, n, k work. Launch: 1-D groups of <see cref="Tf32Threads"/>,
    /// grid x = tiles of C (row-major over tiles), grid z = batch entries (looped beyond the grid).
    /// </summary>
    public static void Tf32Tiled(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape s, float alpha, float beta)
    {
        var tileA = SharedMemory.Allocate<uint>(Tf32Tile * LdTf32);   // tileA[i][kk] = op(A)[row0 + i][k0 + kk]
        var tileB = SharedMemory.Allocate<uint>(Tf32Tile * LdTf32);   // tileB[j][kk] = op(B)[k0 + kk][col0 + j]
        var acc = LocalMemory.Allocate<float>(64);                      // acc[(mi * 4 + ni) * 4 + q]
        int tid = Group.IdxX, warp = tid / 32, lane = tid % 32;
        int wm = warp / 4, wn = warp % 4;
        int tilesN = (s.N + Tf32Tile - 1) / Tf32Tile;
        int row0 = Grid.IdxX / tilesN * Tf32Tile, col0 = Grid.IdxX % tilesN * Tf32Tile;

        for (int entry = Grid.IdxZ; entry < s.Batch; entry += Grid.DimZ)
        {
            long pa = entry * s.StrideA, pb = entry * s.StrideB, pc = entry * s.StrideC;
            for (int q = 0; q < 64; q++) acc[q] = 0f;

            for (int k0 = 0; k0 < s.K; k0 += Tf32TileK)
            {
                // Element l of a slab: along k (16 per row) when the stored matrix's rows run along
                // k (A as is, B transposed), else along the tile's rows or columns (128 per k).
                for (int r = 0; r < Tf32Loads; r++)
                {
                    int l = tid + r * Tf32Threads;
                    int i = s.TransA ? l % Tf32Tile : l / Tf32TileK, kk = s.TransA ? l / Tf32Tile : l % Tf32TileK;
                    int gi = row0 + i, gk = k0 + kk;
                    tileA[i * LdTf32 + kk] = Tf32.Round(gi < s.M && gk < s.K ? a[s.AIndex(pa, gi, gk)] : 0f);
                    int j = s.TransB ? l / Tf32TileK : l % Tf32Tile, kb = s.TransB ? l % Tf32TileK : l / Tf32Tile;
                    int gj = col0 + j, gkb = k0 + kb;
                    tileB[j * LdTf32 + kb] = Tf32.Round(gj < s.N && gkb < s.K ? b[s.BIndex(pb, gkb, gj)] : 0f);
                }
                Group.Barrier();

                // Warp (wm, wn) multiplies its 4 x 4 mma tiles: rows wm * 64 + mi * 16 of A,
                // columns wn * 32 + ni * 8 of B, k-steps of 8.
                for (int ks = 0; ks < Tf32TileK; ks += 8)
                    for (int mi = 0; mi < 4; mi++)
                        for (int ni = 0; ni < 4; ni++)
                        {
                            int at = (mi * 4 + ni) * 4;
                            float d0 = acc[at], d1 = acc[at + 1], d2 = acc[at + 2], d3 = acc[at + 3];
                            Tf32.Mma(ref d0, ref d1, ref d2, ref d3,
                                tileA, (wm * 64 + mi * 16) * LdTf32 + ks, tileB, (wn * 32 + ni * 8) * LdTf32 + ks, LdTf32, lane);
                            acc[at] = d0;
                            acc[at + 1] = d1;
                            acc[at + 2] = d2;
                            acc[at + 3] = d3;
                        }
                Group.Barrier();
            }

            // Accumulator q of mma tile (mi, ni) is element (DRow, DColumn) of that 16 x 8 tile.
            for (int mi = 0; mi < 4; mi++)
                for (int ni = 0; ni < 4; ni++)
                    for (int q = 0; q < 4; q++)
                    {
                        int row = row0 + wm * 64 + mi * 16 + Tf32.DRow(lane, q);
                        int col = col0 + wn * 32 + ni * 8 + Tf32.DColumn(lane, q);
                        if (row < s.M && col < s.N)
                        {
                            long at = s.CIndex(pc, row, col);
                            float v = alpha * acc[(mi * 4 + ni) * 4 + q];
                            c[at] = beta == 0f ? v : v + beta * c[at];
                        }
                    }
        }
    }
}
