using System.Numerics;
using NUnit.Framework;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Kernels;

/// <summary>
/// Flash-style attention kernels against an explicit softmax(scale * Q K^T + mask) V reference
/// in double, on sizes that straddle the 64-wide tiles, with causal and broadcast masks, and
/// gradients checked against the reference's analytic gradient and finite differences.
/// </summary>
[TestFixture]
public unsafe class AttentionKernelTests
{
    /// <summary>A mask as a buffer plus the strides the kernel reads it with.</summary>
    private sealed record Mask(double[] Data, int Heads, long StrideBatch, long StrideHead, long StrideQuery, long StrideKey)
    {
        public double At(int bh, int i, int j) =>
            Data[(bh / Heads) * StrideBatch + (bh % Heads) * StrideHead + i * StrideQuery + j * StrideKey];
    }

    private sealed record Grads(double[] Q, double[] K, double[] V);

    private static double[] Random(int n, int seed, double magnitude = 1)
    {
        var rng = new Random(seed);
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = (rng.NextDouble() * 2 - 1) * magnitude;
        return a;
    }

    private static T[] Cast<T>(double[] a) where T : IFloatingPointIeee754<T> => a.Select(T.CreateTruncating).ToArray();
    private static double[] ToDouble<T>(T[] a) where T : IFloatingPointIeee754<T> => a.Select(double.CreateTruncating).ToArray();

    // ---- explicit reference: materialise the whole score matrix ----

    /// <summary>Probabilities P [BH, Lq, Lk]; a fully masked row is all zeros.</summary>
    private static double[] RefProbabilities(AttentionGeometry g, double[] q, double[] k, Mask? mask)
    {
        int lq = g.QueryLength, lk = g.KeyLength, d = g.HeadDim;
        var p = new double[g.BatchHeads * lq * lk];
        for (int b = 0; b < g.BatchHeads; b++)
            for (int i = 0; i < lq; i++)
            {
                var s = new double[lk];
                double max = double.NegativeInfinity;
                for (int j = 0; j < lk; j++)
                {
                    double dot = 0;
                    for (int e = 0; e < d; e++) dot += q[(b * lq + i) * d + e] * k[(b * lk + j) * d + e];
                    s[j] = (double)g.Scale * dot + (mask?.At(b, i, j) ?? 0);
                    if (g.Causal && j > i) s[j] = double.NegativeInfinity;
                    max = Math.Max(max, s[j]);
                }
                if (double.IsNegativeInfinity(max)) continue;
                double sum = 0;
                for (int j = 0; j < lk; j++) sum += Math.Exp(s[j] - max);
                for (int j = 0; j < lk; j++) p[(b * lq + i) * lk + j] = Math.Exp(s[j] - max) / sum;
            }
        return p;
    }

    private static double[] RefForward(AttentionGeometry g, double[] q, double[] k, double[] v, Mask? mask)
    {
        int lq = g.QueryLength, lk = g.KeyLength, dv = g.ValueDim;
        var p = RefProbabilities(g, q, k, mask);
        var o = new double[g.BatchHeads * lq * dv];
        for (int b = 0; b < g.BatchHeads; b++)
            for (int i = 0; i < lq; i++)
                for (int j = 0; j < lk; j++)
                    for (int e = 0; e < dv; e++)
                        o[(b * lq + i) * dv + e] += p[(b * lq + i) * lk + j] * v[(b * lk + j) * dv + e];
        return o;
    }

    /// <summary>Textbook gradients: dV = P^T dO, dP = dO V^T, dS = P (dP - rowsum(P dP)),
    /// dQ = scale dS K, dK = scale dS^T Q.</summary>
    private static Grads RefBackward(AttentionGeometry g, double[] q, double[] k, double[] v, Mask? mask, double[] dO)
    {
        int lq = g.QueryLength, lk = g.KeyLength, d = g.HeadDim, dv = g.ValueDim;
        double scale = g.Scale;
        var p = RefProbabilities(g, q, k, mask);
        var dq = new double[q.Length];
        var dk = new double[k.Length];
        var dV = new double[v.Length];
        for (int b = 0; b < g.BatchHeads; b++)
            for (int i = 0; i < lq; i++)
            {
                var dp = new double[lk];
                double rowDot = 0;
                for (int j = 0; j < lk; j++)
                {
                    double pij = p[(b * lq + i) * lk + j];
                    for (int e = 0; e < dv; e++)
                    {
                        double go = dO[(b * lq + i) * dv + e];
                        dV[(b * lk + j) * dv + e] += pij * go;
                        dp[j] += go * v[(b * lk + j) * dv + e];
                    }
                    rowDot += pij * dp[j];
                }
                for (int j = 0; j < lk; j++)
                {
                    double ds = scale * p[(b * lq + i) * lk + j] * (dp[j] - rowDot);
                    for (int e = 0; e < d; e++)
                    {
                        dq[(b * lq + i) * d + e] += ds * k[(b * lk + j) * d + e];
                        dk[(b * lk + j) * d + e] += ds * q[(b * lq + i) * d + e];
                    }
                }
            }
        return new Grads(dq, dk, dV);
    }

    // ---- kernel wrappers ----

    private static (T[] Output, T[] Lse) Forward<T>(AttentionGeometry g, T[] q, T[] k, T[] v, Mask? mask)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var o = new T[g.BatchHeads * g.QueryLength * g.ValueDim];
        var lse = new T[g.BatchHeads * g.QueryLength];
        var m = mask == null ? new T[1] : Cast<T>(mask.Data);
        fixed (T* pq = q, pk = k, pv = v, pm = m, po = o, pl = lse)
            Attention.Forward(g, pq, pk, pv, MakeMask(mask, pm), po, pl);
        return (o, lse);
    }

    private static (T[] Q, T[] K, T[] V) Backward<T>(AttentionGeometry g, T[] q, T[] k, T[] v, Mask? mask, T[] dO)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (o, lse) = Forward(g, q, k, v, mask);
        // Garbage in the gradient buffers proves the kernel overwrites them.
        var dq = Enumerable.Repeat(T.CreateTruncating(7), q.Length).ToArray();
        var dk = Enumerable.Repeat(T.CreateTruncating(7), k.Length).ToArray();
        var dv = Enumerable.Repeat(T.CreateTruncating(7), v.Length).ToArray();
        var m = mask == null ? new T[1] : Cast<T>(mask.Data);
        fixed (T* pq = q, pk = k, pv = v, pm = m, po = o, pl = lse, pdo = dO, pdq = dq, pdk = dk, pdv = dv)
            Attention.Backward(g, pq, pk, pv, MakeMask(mask, pm), po, pl, pdo, pdq, pdk, pdv);
        return (dq, dk, dv);
    }

    private static AttentionMask<T> MakeMask<T>(Mask? mask, T* data) where T : unmanaged =>
        mask == null
            ? AttentionMask<T>.None
            : new AttentionMask<T>(data, mask.Heads, mask.StrideBatch, mask.StrideHead, mask.StrideQuery, mask.StrideKey);

    private static void AssertClose(double[] expected, double[] actual, double tol, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"{what}: element {i}: expected {expected[i]}, got {actual[i]}");
    }

    /// <summary>Runs forward and backward in float and double and compares with the reference.</summary>
    private static void CheckAgainstReference(AttentionGeometry g, Mask? mask, int seed)
    {
        var q = Random(g.BatchHeads * g.QueryLength * g.HeadDim, seed, 2);
        var k = Random(g.BatchHeads * g.KeyLength * g.HeadDim, seed + 1, 2);
        var v = Random(g.BatchHeads * g.KeyLength * g.ValueDim, seed + 2);
        var dO = Random(g.BatchHeads * g.QueryLength * g.ValueDim, seed + 3);
        string what = g.ToString() + (mask == null ? "" : " masked");

        var expected = RefForward(g, q, k, v, mask);
        var grads = RefBackward(g, q, k, v, mask, dO);

        var (od, _) = Forward(g, q, k, v, mask);
        AssertClose(expected, od, 1e-12, what + " output double");
        var (dqd, dkd, dvd) = Backward(g, q, k, v, mask, dO);
        AssertClose(grads.Q, dqd, 1e-11, what + " dQ double");
        AssertClose(grads.K, dkd, 1e-11, what + " dK double");
        AssertClose(grads.V, dvd, 1e-11, what + " dV double");

        // float: reference recomputed from the float-rounded inputs.
        float[] qf = Cast<float>(q), kf = Cast<float>(k), vf = Cast<float>(v), dOf = Cast<float>(dO);
        double[] q2 = ToDouble(qf), k2 = ToDouble(kf), v2 = ToDouble(vf), dO2 = ToDouble(dOf);
        var (of, _) = Forward(g, qf, kf, vf, mask);
        AssertClose(RefForward(g, q2, k2, v2, mask), ToDouble(of), 2e-5, what + " output float");
        var gf = RefBackward(g, q2, k2, v2, mask, dO2);
        var (dqf, dkf, dvf) = Backward(g, qf, kf, vf, mask, dOf);
        AssertClose(gf.Q, ToDouble(dqf), 1e-4, what + " dQ float");
        AssertClose(gf.K, ToDouble(dkf), 1e-4, what + " dK float");
        AssertClose(gf.V, ToDouble(dvf), 1e-4, what + " dV float");
    }

    private static AttentionGeometry Geo(int bh, int lq, int lk, int d, int dv, bool causal) =>
        new(bh, lq, lk, d, dv, 1f / MathF.Sqrt(Math.Max(d, 1)), causal);

    // (BatchHeads, Lq, Lk, D, Dv): lengths around the 64-wide tiles, Lq != Lk, Lq = 1, D != Dv,
    // dimensions that are not multiples of the vector width.
    private static readonly (int, int, int, int, int)[] Sizes =
    {
        (1, 1, 1, 1, 1), (2, 1, 130, 8, 8), (1, 63, 65, 16, 5), (3, 64, 64, 32, 32),
        (2, 65, 1, 7, 9), (1, 130, 63, 33, 17), (2, 130, 130, 32, 32), (1, 5, 300, 4, 12),
    };

    [Test]
    public void MatchesReference([Values] bool causal)
    {
        int seed = 1;
        foreach (var (bh, lq, lk, d, dv) in Sizes)
            CheckAgainstReference(Geo(bh, lq, lk, d, dv, causal), null, seed += 10);
    }

    [Test]
    public void SharedMaskForAllHeads([Values] bool causal)
    {
        // One [Lq, Lk] additive mask (random biases plus some -inf) broadcast over 3 heads.
        const int lq = 70, lk = 66;
        var data = Random(lq * lk, 5, 3);
        var rng = new Random(6);
        for (int i = 0; i < data.Length; i++)
            if (rng.Next(5) == 0) data[i] = double.NegativeInfinity;
        for (int i = 0; i < lq; i++) data[i * lk] = 0; // keep key 0 so no row is fully masked
        var mask = new Mask(data, 1, 0, 0, lk, 1);
        CheckAgainstReference(Geo(3, lq, lk, 16, 8, causal), mask, 20);
    }

    [Test]
    public void KeyPaddingMaskPerBatchEntry([Values] bool causal)
    {
        // [B = 2, 1, 1, Lk] mask with -inf on padded keys, shared by the H = 3 heads of each entry.
        const int batch = 2, heads = 3, lq = 65, lk = 130;
        var data = new double[batch * lk];
        for (int j = 100; j < lk; j++) data[j] = double.NegativeInfinity;        // entry 0: 100 real keys
        for (int j = 40; j < lk; j++) data[lk + j] = double.NegativeInfinity;    // entry 1: 40 real keys
        var mask = new Mask(data, heads, lk, 0, 0, 1);
        CheckAgainstReference(Geo(batch * heads, lq, lk, 8, 8, causal), mask, 30);
    }

    [Test]
    public void MaskWithNonUnitKeyStride()
    {
        // A mask stored transposed ([Lk, Lq]) exercises the strided (scalar) mask path.
        const int lq = 9, lk = 70;
        var data = Random(lq * lk, 7, 2);
        var mask = new Mask(data, 1, 0, 0, 1, lq);
        CheckAgainstReference(Geo(2, lq, lk, 8, 4, false), mask, 40);
    }

    [Test]
    public void FullyMaskedRowsGiveZeroOutputAndGradients([Values] bool causal)
    {
        const int lq = 5, lk = 70, d = 4, dv = 3;
        var g = Geo(1, lq, lk, d, dv, causal);
        var data = new double[lq * lk];
        for (int j = 0; j < lk; j++) data[2 * lk + j] = double.NegativeInfinity; // row 2 sees nothing
        var mask = new Mask(data, 1, 0, 0, lk, 1);
        var q = Random(lq * d, 1);
        var k = Random(lk * d, 2);
        var v = Random(lk * dv, 3);
        var (o, lse) = Forward(g, q, k, v, mask);
        Assert.That(o.Skip(2 * dv).Take(dv), Is.All.EqualTo(0.0));
        Assert.That(lse[2], Is.EqualTo(double.NegativeInfinity));
        Assert.That(lse.Where((_, i) => i != 2).All(double.IsFinite), "other rows have finite lse");
        var (dq, dk, dv2) = Backward(g, q, k, v, mask, Random(lq * dv, 4));
        Assert.That(dq.Skip(2 * d).Take(d), Is.All.EqualTo(0.0));
        Assert.That(dq.Concat(dk).Concat(dv2).All(double.IsFinite));
        CheckAgainstReference(g, mask, 50);
    }

    [Test]
    public void LogSumExpIsTheRowNormaliser()
    {
        var g = Geo(2, 3, 70, 5, 2, causal: false);
        var q = Random(2 * 3 * 5, 1);
        var k = Random(2 * 70 * 5, 2);
        var (_, lse) = Forward(g, q, k, Random(2 * 70 * 2, 3), null);
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < 3; i++)
            {
                double sum = 0;
                for (int j = 0; j < 70; j++)
                {
                    double dot = 0;
                    for (int e = 0; e < 5; e++) dot += q[(b * 3 + i) * 5 + e] * k[(b * 70 + j) * 5 + e];
                    sum += Math.Exp((double)g.Scale * dot);
                }
                Assert.That(lse[b * 3 + i], Is.EqualTo(Math.Log(sum)).Within(1e-12));
            }
    }

    [Test]
    public void LargeScoresDoNotOverflow()
    {
        // Scores around 1e4 overflow a naive exp; the online softmax must still be exact.
        var g = new AttentionGeometry(1, 3, 130, 4, 4, 1f, false);
        var q = Random(3 * 4, 1, 50);
        var k = Random(130 * 4, 2, 50);
        var v = Random(130 * 4, 3);
        var (o, _) = Forward(g, Cast<float>(q), Cast<float>(k), Cast<float>(v), null);
        Assert.That(o.All(float.IsFinite));
        var expected = RefForward(g, ToDouble(Cast<float>(q)), ToDouble(Cast<float>(k)), ToDouble(Cast<float>(v)), null);
        AssertClose(expected, ToDouble(o), 1e-3, "large scores");
    }

    [Test]
    public void GradientsMatchFiniteDifferences([Values] bool causal, [Values] bool masked)
    {
        // loss = sum(W * O) in double; the kernel's gradients with dO = W against central differences.
        const int bh = 2, lq = 3, lk = 5, d = 4, dv = 3;
        const double h = 1e-6;
        var g = Geo(bh, lq, lk, d, dv, causal);
        var q = Random(bh * lq * d, 1);
        var k = Random(bh * lk * d, 2);
        var v = Random(bh * lk * dv, 3);
        var w = Random(bh * lq * dv, 4);
        Mask? mask = null;
        if (masked)
        {
            var data = Random(lq * lk, 5);
            data[1 * lk + 3] = double.NegativeInfinity;
            mask = new Mask(data, 1, 0, 0, lk, 1);
        }
        double Loss(double[] qq, double[] kk, double[] vv)
        {
            var (o, _) = Forward(g, qq, kk, vv, mask);
            double s = 0;
            for (int i = 0; i < o.Length; i++) s += w[i] * o[i];
            return s;
        }
        var (dq, dk, dV) = Backward(g, q, k, v, mask, w);
        void Check(double[] x, double[] grad, string name, Func<double[], double> loss)
        {
            for (int i = 0; i < x.Length; i++)
            {
                double saved = x[i];
                x[i] = saved + h; double plus = loss(x);
                x[i] = saved - h; double minus = loss(x);
                x[i] = saved;
                double numeric = (plus - minus) / (2 * h);
                Assert.That(grad[i], Is.EqualTo(numeric).Within(1e-7 + 1e-6 * Math.Abs(numeric)), $"{name}[{i}]");
            }
        }
        Check(q, dq, "dQ", x => Loss(x, k, v));
        Check(k, dk, "dK", x => Loss(q, x, v));
        Check(v, dV, "dV", x => Loss(q, k, x));
    }

    [Test]
    public void BackwardIsDeterministicAcrossRunsAndThreadCounts([Values(1, 256)] int bh)
    {
        // bh = 1 splits each head's key blocks into groups with separate dQ buffers; bh = 256 does not.
        int lk = bh == 1 ? 700 : 128, lq = 128;
        var g = Geo(bh, lq, lk, 32, 32, causal: true);
        var q = Cast<float>(Random(bh * lq * 32, 1));
        var k = Cast<float>(Random(bh * lk * 32, 2));
        var v = Cast<float>(Random(bh * lk * 32, 3));
        var dO = Cast<float>(Random(bh * lq * 32, 4));
        var first = Backward(g, q, k, v, null, dO);
        var second = Backward(g, q, k, v, null, dO);
        (float[] Q, float[] K, float[] V) single;
        using (CpuThreads.Use(1))
            single = Backward(g, q, k, v, null, dO);
        foreach (var other in new[] { second, single })
        {
            Assert.That(other.Q, Is.EqualTo(first.Q));
            Assert.That(other.K, Is.EqualTo(first.K));
            Assert.That(other.V, Is.EqualTo(first.V));
        }
    }

    [Test]
    public void CausalWithMoreQueriesThanKeys()
    {
        // Top-left alignment: queries past the last key see every key.
        CheckAgainstReference(Geo(2, 140, 67, 8, 8, causal: true), null, 60);
    }

    [Test]
    public void EmptySizesAreHandled()
    {
        // No keys: every row is fully masked (output 0, lse -inf); no queries: dK = dV = 0.
        var g = Geo(2, 3, 0, 4, 4, false);
        var (o, lse) = Forward(g, Random(24, 1), Array.Empty<double>(), Array.Empty<double>(), null);
        Assert.That(o, Is.All.EqualTo(0.0));
        Assert.That(lse, Is.All.EqualTo(double.NegativeInfinity));
        var g2 = Geo(2, 0, 3, 4, 4, false);
        var (_, dk, dv) = Backward(g2, Array.Empty<double>(), Random(24, 2), Random(24, 3), null, Array.Empty<double>());
        Assert.That(dk.Concat(dv), Is.All.EqualTo(0.0));
    }

    [Test]
    public void InvalidGeometryThrowsNamingTheOp()
    {
        var bad = new[]
        {
            new AttentionGeometry(-1, 4, 4, 4, 4, 1f, false),
            new AttentionGeometry(1, 4, -4, 4, 4, 1f, false),
            new AttentionGeometry(1, 4, 4, 4, -1, 1f, false),
            new AttentionGeometry(1, 4, 4, 4, 4, float.NaN, false),
        };
        foreach (var g in bad)
        {
            var ex = Assert.Throws<ArgumentException>(() => g.Validate());
            Assert.That(ex!.Message, Does.Contain("scaled_dot_product_attention"));
            // The attention op validates once, above the backends; the kernel assumes a valid geometry.
        }
        // A mask split into 4 heads per batch entry cannot serve 6 batch-heads.
        var g6 = new AttentionGeometry(6, 4, 4, 4, 4, 1f, false);
        var maskEx = Assert.Throws<ArgumentException>(() =>
            Attention.Forward<float>(g6, null, null, null, new AttentionMask<float>((float*)8, 4, 0, 0, 0, 1), null, null));
        Assert.That(maskEx!.Message, Does.Contain("scaled_dot_product_attention"));
        var headsEx = Assert.Throws<ArgumentOutOfRangeException>(() => new AttentionMask<float>((float*)8, 0, 0, 0, 0, 1));
        Assert.That(headsEx!.Message, Does.Contain("scaled_dot_product_attention"));
    }
}
