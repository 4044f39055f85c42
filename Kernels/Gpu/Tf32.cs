using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// TF32 arithmetic for the tensor-core GEMM (<see cref="Gemm.Tf32Tiled"/>): rounding float32 to
/// TF32 and the warp-wide <c>mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32</c> product. On
/// CUDA both are inline PTX; elsewhere (ILGPU's CPU accelerator, where
/// <see cref="CudaAsm.IsSupported"/> is false) the same calls run a plain-C# emulation with the
/// same rounding and the same fragment layout, so the emulated device checks the kernel's
/// indexing and data movement.
/// </summary>
/// <remarks>
/// mma.m16n8k8 fragments (PTX ISA, "Matrix Fragments for mma.m16n8k8"), with g = lane / 4 and
/// t = lane % 4 within the warp:
/// A (16 x 8): a0 = A[g][t], a1 = A[g+8][t], a2 = A[g][t+4], a3 = A[g+8][t+4];
/// B (8 x 8): b0 = B[t][g], b1 = B[t+4][g];
/// C and D (16 x 8): d0 = D[g][2t], d1 = D[g][2t+1], d2 = D[g+8][2t], d3 = D[g+8][2t+1].
/// </remarks>
public static class Tf32
{
    /// <summary>
    /// <paramref name="x"/> rounded to the nearest TF32 value (10 mantissa bits, ties away from
    /// zero, as <c>cvt.rna.tf32.f32</c>), as the float32 bit pattern with its low 13 bits zero:
    /// the b32 register form mma.sync takes.
    /// </summary>
    public static uint Round(float x)
    {
        if (CudaAsm.IsSupported)
        {
            Output<uint> r = default;
            Input<float> v = x;
            CudaAsm.EmitRef("cvt.rna.tf32.f32 %0, %1;", ref r, ref v);
            return r.Value;
        }
        return RoundBits(Interop.FloatAsInt(x));
    }

    /// <summary>
    /// The emulation of <see cref="Round"/> on a float32 bit pattern: adding half of the dropped
    /// 13 bits' range to the magnitude rounds to nearest with ties away from zero (a carry into
    /// the exponent is the correct next binade, or infinity). Infinities pass through; a NaN stays
    /// a (quiet) NaN, since dropping its payload bits could otherwise leave an infinity.
    /// </summary>
    public static uint RoundBits(uint bits)
    {
        if ((bits & 0x7F80_0000u) == 0x7F80_0000u)
            return (bits & 0x007F_FFFFu) == 0 ? bits : (bits | 0x0040_0000u) & 0xFFFF_E000u;
        return (bits + 0x1000u) & 0xFFFF_E000u;
    }

    /// <summary>
    /// d += A * B for one 16 x 8 x 8 tile held by the whole warp (every lane must call it
    /// together): A is the 16 x 8 block at <paramref name="aAt"/> of a shared tile stored
    /// [row][k] (<paramref name="ld"/> words per row), B the 8 x 8 block at <paramref name="bAt"/>
    /// of a tile stored [column][k]; both hold TF32 bit patterns from <see cref="Round"/>.
    /// d0..d3 are this lane's accumulators, d_q = D[<see cref="DRow"/>(lane, q)][<see cref="DColumn"/>(lane, q)].
    /// </summary>
    /// <remarks>
    /// On CUDA each lane loads its fragment registers (<see cref="ARow"/>, <see cref="AK"/>,
    /// <see cref="BK"/>, <see cref="BColumn"/>) and issues mma.sync. The emulation computes this
    /// lane's four outputs term by term, reading each element of A and B from the place where
    /// the lane and register that hold it under the PTX layout (the inverse maps below) loaded
    /// it: a wrong fragment map gives wrong sums on the emulated device too. It needs no
    /// warp-collective operation (ILGPU's CPU accelerator runs those very slowly).
    /// </remarks>
    public static void Mma(ref float d0, ref float d1, ref float d2, ref float d3,
        ArrayView<uint> tileA, int aAt, ArrayView<uint> tileB, int bAt, int ld, int lane)
    {
        if (CudaAsm.IsSupported)
        {
            Input<uint> a0 = tileA[aAt + ARow(lane, 0) * ld + AK(lane, 0)], a1 = tileA[aAt + ARow(lane, 1) * ld + AK(lane, 1)];
            Input<uint> a2 = tileA[aAt + ARow(lane, 2) * ld + AK(lane, 2)], a3 = tileA[aAt + ARow(lane, 3) * ld + AK(lane, 3)];
            Input<uint> b0 = tileB[bAt + BColumn(lane, 0) * ld + BK(lane, 0)], b1 = tileB[bAt + BColumn(lane, 1) * ld + BK(lane, 1)];
            Ref<float> r0 = d0, r1 = d1, r2 = d2, r3 = d3;
            CudaAsm.EmitRef("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};",
                ref r0, ref r1, ref r2, ref r3, ref a0, ref a1, ref a2, ref a3, ref b0, ref b1);
            d0 = r0.Value;
            d1 = r1.Value;
            d2 = r2.Value;
            d3 = r3.Value;
            return;
        }
        d0 += EmulatedDot(tileA, aAt, tileB, bAt, ld, DRow(lane, 0), DColumn(lane, 0));
        d1 += EmulatedDot(tileA, aAt, tileB, bAt, ld, DRow(lane, 1), DColumn(lane, 1));
        d2 += EmulatedDot(tileA, aAt, tileB, bAt, ld, DRow(lane, 2), DColumn(lane, 2));
        d3 += EmulatedDot(tileA, aAt, tileB, bAt, ld, DRow(lane, 3), DColumn(lane, 3));
    }

    /// <summary>
    /// The emulation's sum over k of A[row][k] * B[k][col], in float32, each element read where
    /// its owner lane's fragment register was loaded from. A[row][k] is register
    /// (k / 4) * 2 + row / 8 of lane (row % 8) * 4 + k % 4; B[k][col] is register k / 4 of lane
    /// col * 4 + k % 4 (the PTX layout, inverted).
    /// </summary>
    private static float EmulatedDot(ArrayView<uint> tileA, int aAt, ArrayView<uint> tileB, int bAt, int ld, int row, int col)
    {
        float sum = 0f;
        for (int k = 0; k < 8; k++)
        {
            int laneA = row % 8 * 4 + k % 4, regA = k / 4 * 2 + row / 8;
            int laneB = col * 4 + k % 4, regB = k / 4;
            float x = Interop.IntAsFloat(tileA[aAt + ARow(laneA, regA) * ld + AK(laneA, regA)]);
            float y = Interop.IntAsFloat(tileB[bAt + BColumn(laneB, regB) * ld + BK(laneB, regB)]);
            sum += x * y;
        }
        return sum;
    }

    /// <summary>Row of A (0..15) in register <paramref name="r"/> (0..3) of <paramref name="lane"/>: g for a0 and a2, g + 8 for a1 and a3.</summary>
    public static int ARow(int lane, int r) => lane / 4 + r % 2 * 8;

    /// <summary>Column (k, 0..7) of A in register <paramref name="r"/> of <paramref name="lane"/>: t for a0 and a1, t + 4 for a2 and a3.</summary>
    public static int AK(int lane, int r) => lane % 4 + r / 2 * 4;

    /// <summary>Row (k, 0..7) of B in register <paramref name="r"/> (0..1) of <paramref name="lane"/>: t for b0, t + 4 for b1.</summary>
    public static int BK(int lane, int r) => lane % 4 + r * 4;

    /// <summary>Column of B (0..7) in either register of <paramref name="lane"/>: g.</summary>
    public static int BColumn(int lane, int r) => lane / 4;

    /// <summary>Row of D (0..15) of accumulator <paramref name="q"/> (0..3) of <paramref name="lane"/>: g for d0 and d1, g + 8 for d2 and d3.</summary>
    public static int DRow(int lane, int q) => lane / 4 + q / 2 * 8;

    /// <summary>Column of D (0..7) of accumulator <paramref name="q"/> of <paramref name="lane"/>: 2t for d0 and d2, 2t + 1 for d1 and d3.</summary>
    public static int DColumn(int lane, int q) => lane % 4 * 2 + q % 2;
}
