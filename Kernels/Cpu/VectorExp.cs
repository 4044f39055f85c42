using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// Fast float exp on AVX2 for the softmax family (softmax, log-softmax, cross-entropy,
/// attention), whose arguments are x - max &lt;= 0, and for GELU (eight lanes twice on AVX2,
/// sixteen on AVX-512). The library's Vector256.Exp and Vector512.Exp(float) compute in double
/// for accuracy and are several times slower; exp is what bounds those kernels.
/// </summary>
/// <remarks>
/// <para>Method: write x = (n/8) ln2 + r with n an integer and |r| &lt;= ln2/16, so
/// e^x = 2^(n div 8) * 2^((n mod 8)/8) * e^r. The eight values 2^(k/8) sit in one register and are
/// picked per lane with a lane permute (vpermps), which costs one instruction where a memory table
/// would need a slow gather. On the small interval e^r is 1 + r + r^2/2 + r^3/6 + r^4/24 to 1e-9,
/// and 2^(n div 8) is added straight into the exponent bits. Error: relative error at most
/// 1.46 * 2^-24, under 0.9 ulp (measured over [-87.3, 88.67] against Math.Exp); the softmax
/// kernel tests hold it within 2.5 * 2^-24 over [-100, 88].</para>
/// <para>Why two vectors at once: one exp is a chain of about 15 dependent instructions, and the
/// CPU's scheduler holds only a few iterations of it, so a single chain leaves the FMA units idle
/// half the time. With the two chains interleaved step by step, 8 exps (plus their store and sum)
/// took 3.1-3.4 ns on a 3.1 GHz Zen 3, against 4.6-5.0 ns for the Cephes-style degree-6
/// polynomial used before.</para>
/// <para>Special cases: below ln(FLT_MIN) (including -inf) the result is 0, since denormals are
/// flushed; NaN stays NaN; above 88.67 the result saturates at 3.2e38 instead of +inf, which
/// the softmax kernels never reach because their arguments are at most 0.</para>
/// </remarks>
internal static class VectorExp
{
    /// <summary>True where the CPU has the AVX2 lane permute and integer ops this exp needs.</summary>
    public static bool IsSupported => Avx2.IsSupported;

    private const float Lowest = -87.33654f;   // ln(FLT_MIN): smaller arguments give 0
    private const float Highest = 88.67f;      // keeps n div 8 <= 127 (n <= 1023), the largest float exponent
    private const float EightOverLn2 = 11.541560327111707f;
    // Adding 1.5 * 2^23 leaves no fraction bits, so the hardware rounds x * 8/ln2 to an integer n,
    // which lands in the low mantissa bits of the sum (two's complement, so negative n works too).
    private const float RoundingMagic = 12582912f;
    // ln2/8 split in two: the high part has few significant bits, so n * high is exact.
    private const float Ln2Over8High = 0.086669921875f;
    private const float Ln2Over8Low = -2.6524305e-5f;

    /// <summary>e0 = exp(x0) and e1 = exp(x1), computed step by step side by side (see remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Pair(Vector256<float> x0, Vector256<float> x1, out Vector256<float> e0, out Vector256<float> e1)
    {
        // vmaxps/vminps return their second operand when either is NaN: with x second, a NaN
        // comes through both clamps and every step after.
        var c0 = Avx.Min(Vector256.Create(Highest), Avx.Max(Vector256.Create(Lowest), x0));
        var c1 = Avx.Min(Vector256.Create(Highest), Avx.Max(Vector256.Create(Lowest), x1));
        var t0 = Fused.MulAdd(c0, Vector256.Create(EightOverLn2), Vector256.Create(RoundingMagic));
        var t1 = Fused.MulAdd(c1, Vector256.Create(EightOverLn2), Vector256.Create(RoundingMagic));
        var n0 = t0 - Vector256.Create(RoundingMagic);
        var n1 = t1 - Vector256.Create(RoundingMagic);
        var r0 = Fused.MulAdd(n0, Vector256.Create(-Ln2Over8High), c0);
        var r1 = Fused.MulAdd(n1, Vector256.Create(-Ln2Over8High), c1);
        r0 = Fused.MulAdd(n0, Vector256.Create(-Ln2Over8Low), r0);
        r1 = Fused.MulAdd(n1, Vector256.Create(-Ln2Over8Low), r1);
        // e^r - 1 = r + r^2 (1/2 + r/6 + r^2/24), evaluated so the two halves run in parallel.
        var a0 = Fused.MulAdd(Vector256.Create(1f / 24), r0, Vector256.Create(1f / 6));
        var a1 = Fused.MulAdd(Vector256.Create(1f / 24), r1, Vector256.Create(1f / 6));
        var square0 = r0 * r0;
        var square1 = r1 * r1;
        a0 = Fused.MulAdd(a0, r0, Vector256.Create(0.5f));
        a1 = Fused.MulAdd(a1, r1, Vector256.Create(0.5f));
        var expm1R0 = Fused.MulAdd(square0, a0, r0);
        var expm1R1 = Fused.MulAdd(square1, a1, r1);
        var scale0 = PowerOfTwo(t0);
        var scale1 = PowerOfTwo(t1);
        // scale * e^r = scale + scale * (e^r - 1): one fused multiply-add, one rounding.
        e0 = Vector256.AndNot(Fused.MulAdd(scale0, expm1R0, scale0), Vector256.LessThan(x0, Vector256.Create(Lowest)));
        e1 = Vector256.AndNot(Fused.MulAdd(scale1, expm1R1, scale1), Vector256.LessThan(x1, Vector256.Create(Lowest)));
    }

    /// <summary>True where the CPU has AVX-512's sixteen-lane permute for <see cref="Exp(Vector512{float})"/>.</summary>
    public static bool IsSupported512 => Avx512F.IsSupported;

    /// <summary>
    /// exp(x) in sixteen lanes: the same steps as <see cref="Pair"/>, one vector at a time (a
    /// 512-bit instruction does the work of two 256-bit ones, so one chain keeps as many lanes in
    /// flight as Pair's two). The table of eighths is written twice: vpermps on sixteen lanes reads
    /// the low 4 bits of n, and n mod 16 then picks the same 2^((n mod 8)/8).
    /// </summary>
    /// <remarks>Without AVX-512 (a test forcing a 512-bit path) it falls back to the library's
    /// Vector512.Exp, which computes in double: right, 2-3x slower.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        if (!IsSupported512) return Vector512.Exp(x);
        var clamped = Avx512F.Min(Vector512.Create(Highest), Avx512F.Max(Vector512.Create(Lowest), x));
        var t = Fused.MulAdd(clamped, Vector512.Create(EightOverLn2), Vector512.Create(RoundingMagic));
        var n = t - Vector512.Create(RoundingMagic);
        var r = Fused.MulAdd(n, Vector512.Create(-Ln2Over8High), clamped);
        r = Fused.MulAdd(n, Vector512.Create(-Ln2Over8Low), r);
        var a = Fused.MulAdd(Vector512.Create(1f / 24), r, Vector512.Create(1f / 6));
        a = Fused.MulAdd(a, r, Vector512.Create(0.5f));
        var expm1R = Fused.MulAdd(r * r, a, r);
        var eighths = Vector512.Create(1f, 1.0905077326652577f, 1.189207115002721f, 1.2968395546510096f,
            1.4142135623730951f, 1.5422108254079407f, 1.681792830507429f, 1.8340080864093424f,
            1f, 1.0905077326652577f, 1.189207115002721f, 1.2968395546510096f,
            1.4142135623730951f, 1.5422108254079407f, 1.681792830507429f, 1.8340080864093424f);
        var bits = t.AsInt32();
        var exponent = (bits << 20) & Vector512.Create(unchecked((int)0xFF800000));
        var scale = (Avx512F.PermuteVar16x32(eighths, bits).AsInt32() + exponent).AsSingle();
        return Vector512.AndNot(Fused.MulAdd(scale, expm1R, scale), Vector512.LessThan(x, Vector512.Create(Lowest)));
    }

    /// <summary>
    /// 2^(n/8) from t = n + <see cref="RoundingMagic"/>, whose low bits hold n: vpermps reads only
    /// the low 3 bits of each lane, so it picks 2^((n mod 8)/8) from the table, and shifting n left
    /// by 20 then masking keeps (n div 8) &lt;&lt; 23, which adds n div 8 to that entry's exponent.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> PowerOfTwo(Vector256<float> t)
    {
        var eighths = Vector256.Create(1f, 1.0905077326652577f, 1.189207115002721f, 1.2968395546510096f,
            1.4142135623730951f, 1.5422108254079407f, 1.681792830507429f, 1.8340080864093424f);
        var n = t.AsInt32();
        var exponent = (n << 20) & Vector256.Create(unchecked((int)0xFF800000));
        return (Avx2.PermuteVar8x32(eighths, n).AsInt32() + exponent).AsSingle();
    }
}
