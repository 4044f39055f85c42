using Tensorium.Kernels.Ops;
using GpuAttentionKernels = Tensorium.Kernels.Gpu.Attention;

namespace Tensorium.Tests.Kernels.Gpu;

/// <summary>
/// The ILGPU attention kernels on the emulated device (ILGPU's CPU accelerator) against the CPU
/// backend, forward and backward, float32 and float64, on the smallest shapes that reach each
/// path of the flash tiling: one key tile; several key tiles with a ragged last one (the tile
/// holds fewer rows for wide heads, fewer still in float64); a second, ragged group of query
/// rows; causal tiles skipped past a group's diagonal; Lq != Lk; fully masked rows; a mask
/// broadcast over heads and one read through transposed strides.
/// </summary>
[TestFixture]
public class AttentionTests
{
    private const string Op = "gpu_attention_test";

    /// <summary>How the test builds the optional [B, H, Lq, Lk] mask.</summary>
    public enum MaskKind
    {
        /// <summary>No mask.</summary>
        None,
        /// <summary>A dense mask with some -inf entries.</summary>
        Full,
        /// <summary>[B, 1, 1, Lk] key padding broadcast over heads and queries (strides Lk, 0, 0, 1).</summary>
        KeyPadding,
        /// <summary>One [Lq, Lk] mask for every head, stored transposed (strides 0, 0, 1, Lq).</summary>
        SharedTransposed,
        /// <summary>A dense mask whose rows 0, 1, 4, 7, ... are entirely -inf.</summary>
        FullyMaskedRows,
    }

    /// <summary>One case: sizes, causality, mask and what path it is there to reach.</summary>
    public sealed record Case(string Path, int B, int H, int Lq, int Lk, int D, int Dv, bool Causal, MaskKind Mask)
    {
        public override string ToString() => $"{Path} (B{B} H{H} Lq{Lq} Lk{Lk} D{D} Dv{Dv}{(Causal ? " causal" : "")} {Mask})";
    }

    private static readonly Case[] Cases =
    [
        new("one key tile, one query group", 1, 1, 5, 7, 4, 3, false, MaskKind.None),
        new("several key tiles, ragged last tile", 1, 2, 9, 70, 128, 96, false, MaskKind.Full),
        new("causal: a second ragged query group, key tiles past the first group's diagonal skipped", 1, 1, 70, 75, 128, 8, true, MaskKind.None),
        new("causal with Lq > Lk and fully masked rows", 2, 1, 67, 5, 4, 4, true, MaskKind.FullyMaskedRows),
        new("key padding mask broadcast over heads", 2, 2, 6, 9, 4, 4, false, MaskKind.KeyPadding),
        new("transposed shared mask over two key tiles", 1, 2, 7, 66, 4, 4, true, MaskKind.SharedTransposed),
    ];

    private static IEnumerable<TestCaseData> CaseData() =>
        from c in Cases
        from dtype in new[] { DType.Float32, DType.Float64 }
        select new TestCaseData(c, dtype).SetArgDisplayNames(c.ToString(), dtype.ToString());

    [Test]
    public void TheCasesReachTheTilePathsTheyName()
    {
        // Key tiles hold TileElements / max(D, Dv) rows (at most 64): 30 float or 15 double rows at
        // D = 128, so Lk = 70 and 75 make several tiles with a ragged last one in both types.
        Assert.That(GpuAttentionKernels.TileRows<float>(128, 96), Is.EqualTo(30));
        Assert.That(GpuAttentionKernels.TileRows<double>(128, 8), Is.EqualTo(15));
        Assert.That(GpuAttentionKernels.TileRows<float>(4, 4), Is.EqualTo(64), "Lk = 66 at D = 4: two key tiles");
        Assert.That(GpuAttentionKernels.Rows, Is.EqualTo(64), "Lq = 67 and 70: a second, ragged query group");
    }

    [TestCaseSource(nameof(CaseData))]
    public void MatchesTheCpu(Case c, DType dtype)
    {
        int bh = c.B * c.H;
        var g = new AttentionGeometry(bh, c.Lq, c.Lk, c.D, c.Dv, 1.5 / Math.Sqrt(c.D), c.Causal);
        var q = Scaled(bh * c.Lq * c.D, 11, 1.5);
        var k = Scaled(bh * c.Lk * c.D, 12, 1.5);
        var v = Scaled(bh * c.Lk * c.Dv, 13, 1);
        var gradOut = Scaled(bh * c.Lq * c.Dv, 14, 1);
        var mask = MaskFor(c);

        double[][] Run(Device on)
        {
            using var qt = Ref.Make(q, [bh, c.Lq, c.D], on, dtype);
            using var kt = Ref.Make(k, [bh, c.Lk, c.D], on, dtype);
            using var vt = Ref.Make(v, [bh, c.Lk, c.Dv], on, dtype);
            using var maskStore = mask == null ? null : Ref.Make(mask.Value.Data, mask.Value.StorageShape, on, dtype);
            using var maskView = maskStore?.View(new Layout([c.B, c.H, c.Lq, c.Lk], mask!.Value.Strides, 0), Op);
            using var output = Tensor.Empty([bh, c.Lq, c.Dv], dtype, on);
            using var lse = Tensor.Empty([bh, c.Lq], dtype, on);
            qt.Backend(Op).Attention(g, qt, kt, vt, maskView, output, lse);
            using var gy = Ref.Make(gradOut, [bh, c.Lq, c.Dv], on, dtype);
            using var gq = Tensor.Empty([bh, c.Lq, c.D], dtype, on);
            using var gk = Tensor.Empty([bh, c.Lk, c.D], dtype, on);
            using var gv = Tensor.Empty([bh, c.Lk, c.Dv], dtype, on);
            qt.Backend(Op).AttentionBackward(g, qt, kt, vt, maskView, output, lse, gy, gq, gk, gv);
            return [output.ToDoubleArray(), lse.ToDoubleArray(), gq.ToDoubleArray(), gk.ToDoubleArray(), gv.ToDoubleArray()];
        }

        var cpu = Run(Device.Cpu);
        var emulated = Run(Device.Emulated);
        var (atol, rtol) = dtype == DType.Float32 ? (2e-5, 2e-4) : (1e-11, 1e-10);
        string[] names = ["output", "logSumExp", "dQ", "dK", "dV"];
        for (int i = 0; i < names.Length; i++)
            Reference.AssertClose(emulated[i], cpu[i], atol, rtol, $"attention {names[i]}");
        if (c.Mask == MaskKind.FullyMaskedRows)
        {
            // Row 0 of every head is fully masked: output 0, logSumExp -inf, dQ 0.
            Assert.That(emulated[1][0], Is.EqualTo(double.NegativeInfinity));
            Assert.That(emulated[0].Take(c.Dv), Is.All.EqualTo(0.0));
            Assert.That(emulated[2].Take(c.D), Is.All.EqualTo(0.0));
        }
    }

    private static double[] Scaled(int count, int seed, double scale) => Reference.Values(count, seed).Select(v => v * scale).ToArray();

    /// <summary>The mask's values in its own storage order, that storage's shape, and the [B, H, Lq, Lk] view's strides.</summary>
    private static (double[] Data, int[] StorageShape, int[] Strides)? MaskFor(Case c)
    {
        int b = c.B, h = c.H, lq = c.Lq, lk = c.Lk;
        static double NegInfSome(double v) => v < -0.8 ? double.NegativeInfinity : v;
        switch (c.Mask)
        {
            case MaskKind.Full:
                return (Scaled(b * h * lq * lk, 21, 1).Select(NegInfSome).ToArray(), [b, h, lq, lk], [h * lq * lk, lq * lk, lk, 1]);
            case MaskKind.KeyPadding:
            {
                // Batch entry i pads its last 2i keys (never key 0, so no row is fully masked).
                var pad = new double[b * lk];
                for (int i = 0; i < b; i++)
                    for (int j = 0; j < lk; j++) pad[i * lk + j] = j >= lk - i * 2 && j > 0 ? double.NegativeInfinity : 0;
                return (pad, [b, 1, 1, lk], [lk, 0, 0, 1]);
            }
            case MaskKind.SharedTransposed:
                return (Scaled(lk * lq, 22, 2).Select(NegInfSome).ToArray(), [lk, lq], [0, 0, 1, lq]);
            case MaskKind.FullyMaskedRows:
            {
                var m = Scaled(b * h * lq * lk, 23, 1);
                for (int bh = 0; bh < b * h; bh++)
                    for (int i = 0; i < lq; i++)
                        if (i == 0 || i % 3 == 1)
                            for (int j = 0; j < lk; j++) m[(bh * lq + i) * lk + j] = double.NegativeInfinity;
                return (m, [b, h, lq, lk], [h * lq * lk, lq * lk, lk, 1]);
            }
            default:
                return null;
        }
    }
}
