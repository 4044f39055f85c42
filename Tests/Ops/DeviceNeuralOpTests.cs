using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Ops;

/// <summary>
/// The neural-network kernels (max-pool, softmax, attention) called through each device's backend
/// and compared with the CPU kernels on the same inputs, forward and backward, float32 and
/// float64: the GPU ports must reproduce the CPU's numbers (exactly for max-pool and its argmax,
/// up to summation order otherwise) including its tie, NaN, -inf and fully-masked-row rules.
/// Sizes straddle the GPU kernels' tiles (attention rows of 64, key tiles of 7 to 64 rows,
/// softmax groups of up to 256 work-items). Runs on every device but the CPU.
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.Gpus))]
public class DeviceNeuralOpTests(Device device)
{
    private const string Op = "device_parity_test";

    private static IBackend Backend(Tensor t) => t.Backend(Op);

    private static Tensor Make(double[] values, int[] shape, Device on, DType dtype) => Ref.Make(values, shape, on, dtype);

    private static Tensor Empty(int[] shape, DType dtype, Device on) => Tensor.Empty(shape, dtype, on);

    private static double[] Scaled(int count, int seed, double scale) => Reference.Values(count, seed).Select(v => v * scale).ToArray();

    private static (double Atol, double Rtol) Tolerance(DType dtype) => dtype == DType.Float32 ? (2e-5, 2e-4) : (1e-11, 1e-10);

    // ------------------------------------------------------------------ max-pool

    private static IEnumerable<TestCaseData> PoolCases()
    {
        // (n, c, h, w, kernel h, kernel w, stride h, stride w, pad h, pad w)
        int[][] geometries =
        [
            [2, 3, 9, 8, 3, 3, 2, 1, 1, 1],     // overlapping, padded
            [1, 2, 8, 10, 2, 2, 2, 2, 0, 0],    // the common 2x2 stride 2
            [2, 2, 7, 5, 2, 2, 2, 2, 0, 0],     // 2x2 stride 2, odd sizes (last row/column dropped)
            [2, 2, 6, 5, 3, 2, 1, 2, 1, 1],     // non-square window, mixed strides
            [1, 1, 5, 6, 5, 5, 1, 1, 2, 2],     // window as large as the input, maximal padding
            [1, 3, 11, 13, 4, 3, 3, 2, 2, 1],   // stride below kernel in one axis only
            [3, 2, 17, 19, 3, 3, 1, 1, 1, 1],   // many overlapping windows per element
        ];
        foreach (var g in geometries)
            foreach (var dtype in new[] { DType.Float32, DType.Float64 })
                yield return new TestCaseData(new Pool2dGeometry(g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9]), dtype)
                    .SetArgDisplayNames($"{g[0]}x{g[1]}x{g[2]}x{g[3]} k{g[4]}x{g[5]} s{g[6]}x{g[7]} p{g[8]}x{g[9]}", dtype.ToString());
    }

    /// <summary>Small integers (so windows hold ties), a few NaNs and -infs, and one all -inf plane.</summary>
    private static double[] PoolInput(Pool2dGeometry g)
    {
        int plane = g.InHeight * g.InWidth, count = g.Batch * g.Channels * plane;
        var x = Reference.Values(count, 41).Select(v => Math.Round(v * 3)).ToArray();
        var rng = new Random(42);
        for (int t = 0; t < count / 15; t++) x[rng.Next(count)] = double.NegativeInfinity;
        for (int t = 0; t < count / 40; t++) x[rng.Next(count)] = double.NaN;
        if (g.Batch * g.Channels > 1)
            for (int i = 0; i < plane; i++) x[plane + i] = double.NegativeInfinity;
        return x;
    }

    [TestCaseSource(nameof(PoolCases))]
    public void MaxPoolMatchesCpu(Pool2dGeometry g, DType dtype)
    {
        var x = PoolInput(g);
        int[] inShape = [g.Batch, g.Channels, g.InHeight, g.InWidth], outShape = [g.Batch, g.Channels, g.OutHeight, g.OutWidth];
        var gradOut = Scaled(outShape.Aggregate(1, (a, b) => a * b), 43, 1);

        (double[] Y, double[] Arg, double[] Gx) Run(Device on)
        {
            using var input = Make(x, inShape, on, dtype);
            using var y = Empty(outShape, dtype, on);
            using var argmax = Empty(outShape, DType.Int32, on);
            Backend(input).MaxPool2d(g, input, y, argmax);
            using var gy = Make(gradOut, outShape, on, dtype);
            using var gx = Empty(inShape, dtype, on);
            Backend(input).MaxPool2dBackward(g, gy, argmax, gx);
            return (y.ToDoubleArray(), argmax.ToDoubleArray(), gx.ToDoubleArray());
        }

        var cpu = Run(Device.Cpu);
        var dev = Run(device);
        Reference.AssertClose(dev.Y, cpu.Y, 0, 0, "max_pool2d output");
        Reference.AssertClose(dev.Arg, cpu.Arg, 0, 0, "max_pool2d argmax");
        var (atol, rtol) = Tolerance(dtype);
        Reference.AssertClose(dev.Gx, cpu.Gx, atol, rtol, "max_pool2d backward");
    }

    // ------------------------------------------------------------------ softmax

    /// <summary>rows x cols logits of magnitude 30; after the random rows come an all -inf row, a row
    /// holding +inf, one holding NaN and one that is -inf except for two entries.</summary>
    private static double[] SoftmaxInput(int randomRows, int cols)
    {
        var x = Scaled(randomRows * cols, 51, 30).ToList();
        var special = new double[4 * cols];
        for (int j = 0; j < cols; j++)
        {
            special[j] = double.NegativeInfinity;
            special[cols + j] = j - 1.5;
            special[2 * cols + j] = -j * 0.25;
            special[3 * cols + j] = double.NegativeInfinity;
        }
        special[cols + cols / 2] = double.PositiveInfinity;
        special[2 * cols + cols - 1] = double.NaN;
        special[3 * cols + cols - 1] = 2;
        special[3 * cols + cols / 3] = -1;
        x.AddRange(special);
        return x.ToArray();
    }

    [Test]
    public void SoftmaxMatchesCpu([Values] bool log, [Values(1, 7, 64, 257, 1000)] int cols, [Values(DType.Float32, DType.Float64)] DType dtype)
    {
        int rows = 6 + 4;
        var x = SoftmaxInput(6, cols);
        var gradY = Scaled(rows * cols, 52, 1);
        int[] shape = [rows, cols];

        (double[] Y, double[] InPlace, double[] Gx) Run(Device on)
        {
            using var xt = Make(x, shape, on, dtype);
            using var y = Empty(shape, dtype, on);
            Backend(xt).Softmax(log, xt, y, rows, cols);
            using var inPlace = Make(x, shape, on, dtype);
            Backend(xt).Softmax(log, inPlace, inPlace, rows, cols);
            using var gy = Make(gradY, shape, on, dtype);
            using var gx = Empty(shape, dtype, on);
            Backend(xt).SoftmaxBackward(log, y, gy, gx, rows, cols);
            return (y.ToDoubleArray(), inPlace.ToDoubleArray(), gx.ToDoubleArray());
        }

        var cpu = Run(Device.Cpu);
        var dev = Run(device);
        var (atol, rtol) = Tolerance(dtype);
        string what = log ? "log_softmax" : "softmax";
        Reference.AssertClose(dev.Y, cpu.Y, atol, rtol, what);
        Reference.AssertClose(dev.InPlace, cpu.Y, atol, rtol, what + " in place");
        Reference.AssertClose(dev.Gx, cpu.Gx, atol, rtol, what + " backward");
    }

    [Test]
    public void SoftmaxBackwardMayOverwriteGradY([Values] bool log)
    {
        int rows = 3, cols = 300;
        var x = Scaled(rows * cols, 53, 3);
        var gradY = Scaled(rows * cols, 54, 1);
        double[] Run(Device on)
        {
            using var y = Make(x, [rows, cols], on, DType.Float64);
            Backend(y).Softmax(log, y, y, rows, cols);
            using var g = Make(gradY, [rows, cols], on, DType.Float64);
            Backend(y).SoftmaxBackward(log, y, g, g, rows, cols);
            return g.ToDoubleArray();
        }
        Reference.AssertClose(Run(device), Run(Device.Cpu), 1e-12, 1e-10, "softmax backward in place");
    }

    // ------------------------------------------------------------------ attention

    /// <summary>How the test builds the additive mask.</summary>
    public enum MaskKind
    {
        /// <summary>No mask.</summary>
        None,
        /// <summary>A contiguous [B, H, Lq, Lk] mask, random values with some -inf.</summary>
        Full,
        /// <summary>Key padding [B, 1, 1, Lk] broadcast over heads and queries (strides Lk, 0, 0, 1).</summary>
        KeyPadding,
        /// <summary>One [Lq, Lk] mask for every head, stored transposed (strides 0, 0, 1, Lq).</summary>
        SharedTransposed,
        /// <summary>Full mask whose first query rows (and every third row) are entirely -inf.</summary>
        FullyMaskedRows,
    }

    private static IEnumerable<TestCaseData> AttentionCases()
    {
        // (batch, heads, Lq, Lk, D, Dv)
        int[][] sizes =
        [
            [2, 3, 5, 7, 4, 6],          // tiny, Lq < Lk
            [1, 2, 70, 130, 16, 8],      // query rows beyond one group of 64, keys beyond a tile
            [2, 1, 130, 65, 32, 24],     // Lq > Lk (causal: later queries see every key)
            [1, 2, 33, 47, 256, 256],    // the largest head dim: smallest key tiles
            [1, 1, 100, 1, 8, 8],        // a single key
            [2, 2, 129, 129, 64, 64],    // square, one row past two groups
        ];
        foreach (var s in sizes)
            foreach (var causal in new[] { false, true })
                foreach (var mask in Enum.GetValues<MaskKind>())
                    foreach (var dtype in new[] { DType.Float32, DType.Float64 })
                    {
                        if (s[4] == 256 && mask is MaskKind.KeyPadding or MaskKind.SharedTransposed) continue;   // keep the run short
                        yield return new TestCaseData(s, causal, mask, dtype)
                            .SetArgDisplayNames($"B{s[0]} H{s[1]} Lq{s[2]} Lk{s[3]} D{s[4]} Dv{s[5]}", causal ? "causal" : "full", mask.ToString(), dtype.ToString());
                    }
    }

    /// <summary>The mask's values (in its own storage order), shape of that storage, and the [B, H, Lq, Lk] view strides.</summary>
    private static (double[] Data, int[] StorageShape, int[] Strides)? MaskFor(MaskKind kind, int b, int h, int lq, int lk)
    {
        static double NegInfSome(double v) => v < -0.8 ? double.NegativeInfinity : v;
        switch (kind)
        {
            case MaskKind.Full:
                return (Scaled(b * h * lq * lk, 61, 1).Select(NegInfSome).ToArray(), [b, h, lq, lk], [h * lq * lk, lq * lk, lk, 1]);
            case MaskKind.KeyPadding:
            {
                var pad = new double[b * lk];
                for (int i = 0; i < b; i++)
                    for (int j = 0; j < lk; j++) pad[i * lk + j] = j >= lk - i * 2 && j > 0 ? double.NegativeInfinity : 0;
                return (pad, [b, 1, 1, lk], [lk, 0, 0, 1]);
            }
            case MaskKind.SharedTransposed:
                return (Scaled(lk * lq, 62, 2).Select(NegInfSome).ToArray(), [lk, lq], [0, 0, 1, lq]);
            case MaskKind.FullyMaskedRows:
            {
                var m = Scaled(b * h * lq * lk, 63, 1);
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

    [TestCaseSource(nameof(AttentionCases))]
    public void AttentionMatchesCpu(int[] sizes, bool causal, MaskKind maskKind, DType dtype)
    {
        int b = sizes[0], h = sizes[1], lq = sizes[2], lk = sizes[3], d = sizes[4], dv = sizes[5], bh = b * h;
        var g = new AttentionGeometry(bh, lq, lk, d, dv, (float)(1 / Math.Sqrt(d)) * 2, causal);
        var q = Scaled(bh * lq * d, 71, 1.5);
        var k = Scaled(bh * lk * d, 72, 1.5);
        var v = Scaled(bh * lk * dv, 73, 1);
        var gradOut = Scaled(bh * lq * dv, 74, 1);
        var mask = MaskFor(maskKind, b, h, lq, lk);

        double[][] Run(Device on)
        {
            using var qt = Make(q, [bh, lq, d], on, dtype);
            using var kt = Make(k, [bh, lk, d], on, dtype);
            using var vt = Make(v, [bh, lk, dv], on, dtype);
            using var maskStore = mask == null ? null : Make(mask.Value.Data, mask.Value.StorageShape, on, dtype);
            using var maskView = maskStore?.View(new Layout([b, h, lq, lk], mask!.Value.Strides, 0), Op);
            using var output = Empty([bh, lq, dv], dtype, on);
            using var lse = Empty([bh, lq], dtype, on);
            Backend(qt).Attention(g, qt, kt, vt, maskView, output, lse);
            using var gy = Make(gradOut, [bh, lq, dv], on, dtype);
            using var gq = Empty([bh, lq, d], dtype, on);
            using var gk = Empty([bh, lk, d], dtype, on);
            using var gv = Empty([bh, lk, dv], dtype, on);
            Backend(qt).AttentionBackward(g, qt, kt, vt, maskView, output, lse, gy, gq, gk, gv);
            return [output.ToDoubleArray(), lse.ToDoubleArray(), gq.ToDoubleArray(), gk.ToDoubleArray(), gv.ToDoubleArray()];
        }

        var cpu = Run(Device.Cpu);
        var dev = Run(device);
        var (atol, rtol) = Tolerance(dtype);
        string[] names = ["output", "logSumExp", "dQ", "dK", "dV"];
        for (int i = 0; i < names.Length; i++)
            Reference.AssertClose(dev[i], cpu[i], atol, rtol, "attention " + names[i]);
        if (maskKind == MaskKind.FullyMaskedRows)
        {
            // Row 0 of every head is fully masked: output 0, logSumExp -inf, dQ 0.
            Assert.That(dev[1][0], Is.EqualTo(double.NegativeInfinity));
            Assert.That(dev[0].Take(dv), Is.All.EqualTo(0.0));
            Assert.That(dev[2].Take(d), Is.All.EqualTo(0.0));
        }
    }

    [Test]
    public void AttentionWithEmptySequences([Values(0, 5)] int lq, [Values(0, 6)] int lk)
    {
        const int bh = 3, d = 4, dv = 5;
        var g = new AttentionGeometry(bh, lq, lk, d, dv, 0.5f, Causal: false);
        double[][] Run(Device on)
        {
            using var qt = Make(Scaled(bh * lq * d, 81, 1), [bh, lq, d], on, DType.Float32);
            using var kt = Make(Scaled(bh * lk * d, 82, 1), [bh, lk, d], on, DType.Float32);
            using var vt = Make(Scaled(bh * lk * dv, 83, 1), [bh, lk, dv], on, DType.Float32);
            using var output = Make(Enumerable.Repeat(7.0, bh * lq * dv).ToArray(), [bh, lq, dv], on, DType.Float32);
            using var lse = Make(Enumerable.Repeat(7.0, bh * lq).ToArray(), [bh, lq], on, DType.Float32);
            Backend(qt).Attention(g, qt, kt, vt, null, output, lse);
            using var gy = Make(Scaled(bh * lq * dv, 84, 1), [bh, lq, dv], on, DType.Float32);
            using var gq = Make(Enumerable.Repeat(7.0, bh * lq * d).ToArray(), [bh, lq, d], on, DType.Float32);
            using var gk = Make(Enumerable.Repeat(7.0, bh * lk * d).ToArray(), [bh, lk, d], on, DType.Float32);
            using var gv = Make(Enumerable.Repeat(7.0, bh * lk * dv).ToArray(), [bh, lk, dv], on, DType.Float32);
            Backend(qt).AttentionBackward(g, qt, kt, vt, null, output, lse, gy, gq, gk, gv);
            return [output.ToDoubleArray(), lse.ToDoubleArray(), gq.ToDoubleArray(), gk.ToDoubleArray(), gv.ToDoubleArray()];
        }
        var cpu = Run(Device.Cpu);
        var dev = Run(device);
        for (int i = 0; i < cpu.Length; i++) Reference.AssertClose(dev[i], cpu[i], 1e-6, 1e-5, $"attention result {i}");
    }

    [Test]
    public void AttentionThroughTheOpMatchesCpu([Values] bool causal)
    {
        // The op path: a [B, 1, Lq, Lk] mask broadcast over heads (a strided view), autograd backward.
        int b = 2, h = 3, lq = 67, lk = 45, d = 24, dv = 16;
        var mask = Scaled(b * lq * lk, 91, 1).Select(x => x < -0.9 ? double.NegativeInfinity : x).ToArray();
        double[][] Run(Device on)
        {
            using var q = Make(Scaled(b * h * lq * d, 92, 1), [b, h, lq, d], on, DType.Float64);
            using var k = Make(Scaled(b * h * lk * d, 93, 1), [b, h, lk, d], on, DType.Float64);
            using var v = Make(Scaled(b * h * lk * dv, 94, 1), [b, h, lk, dv], on, DType.Float64);
            using var m = Make(mask, [b, 1, lq, lk], on, DType.Float64);
            q.RequiresGrad = k.RequiresGrad = v.RequiresGrad = true;
            using var y = AttentionOp.ScaledDotProductAttention(q, k, v, m, causal);
            using var gy = Make(Scaled(b * h * lq * dv, 95, 1), [b, h, lq, dv], on, DType.Float64);
            y.Backward(gy);
            return [y.ToDoubleArray(), q.Grad!.ToDoubleArray(), k.Grad!.ToDoubleArray(), v.Grad!.ToDoubleArray()];
        }
        var cpu = Run(Device.Cpu);
        var dev = Run(device);
        for (int i = 0; i < cpu.Length; i++) Reference.AssertClose(dev[i], cpu[i], 1e-11, 1e-10, $"attention op result {i}");
    }

    [Test]
    public void AttentionHeadDimAboveTheGpuLimitRunsOnTheCpuAndIsRejectedNamingTheOpOnGpus()
    {
        const int d = 300;
        var g = new AttentionGeometry(1, 2, 2, d, d, 0.1f, Causal: false);
        using var q = Tensor.Zeros([1, 2, d], device: device);
        using var output = Empty([1, 2, d], DType.Float32, device);
        using var lse = Empty([1, 2], DType.Float32, device);
        if (device.Kind == DeviceKind.Cpu)
        {
            // The CPU kernel has no head-dim limit: the same call runs.
            Assert.DoesNotThrow(() => Backend(q).Attention(g, q, q, q, null, output, lse));
            return;
        }
        var e = Assert.Throws<NotSupportedException>(() => Backend(q).Attention(g, q, q, q, null, output, lse));
        Assert.That(e!.Message, Does.Contain(AttentionGeometry.OpName).And.Contain("300").And.Contain("256"));
    }
}
