using NUnit.Framework;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Kernels;

/// <summary>
/// Conv2d CPU kernels against plain nested-loop references, on shapes chosen to hit every edge:
/// padding, stride, dilation, non-square and 1x1 kernels, odd sizes, and images large enough that
/// the im2col matrix is built in several slabs that start and end in the middle of an output row.
/// </summary>
[TestFixture]
public unsafe class Conv2dKernelTests
{
    private CpuThreads? _threads;

    /// <summary>
    /// Two threads on any machine, so each geometry takes the path its comment names (small
    /// planes run a few images per task only when the batch has an image for every thread).
    /// </summary>
    [SetUp]
    public void UseTwoThreads() => _threads = CpuThreads.Use(2);

    [TearDown]
    public void RestoreThreads() => _threads?.Dispose();

    public static IEnumerable<TestCaseData> Geometries()
    {
        yield return Case(new Conv2dGeometry(1, 1, 5, 7, 1, 3, 3), "basic");
        yield return Case(new Conv2dGeometry(3, 5, 9, 11, 4, 3, 2, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1), "stride2-pad1-nonsquare");
        yield return Case(new Conv2dGeometry(2, 3, 10, 9, 5, 3, 3, PadH: 2, PadW: 2, DilationH: 2, DilationW: 2), "dilation2-pad2");
        yield return Case(new Conv2dGeometry(3, 5, 7, 6, 3, 1, 1), "pointwise");
        yield return Case(new Conv2dGeometry(2, 4, 8, 9, 3, 1, 1, StrideH: 2, StrideW: 2), "1x1-stride2");
        yield return Case(new Conv2dGeometry(1, 2, 6, 13, 2, 2, 5, StrideH: 1, StrideW: 3, PadH: 0, PadW: 2), "2x5-stride1x3");
        yield return Case(new Conv2dGeometry(3, 1, 28, 28, 8, 3, 3), "mnist-first-layer");
        yield return Case(new Conv2dGeometry(2, 3, 5, 5, 2, 5, 5, StrideH: 2, StrideW: 2, PadH: 2, PadW: 2), "kernel-as-big-as-input");
        yield return Case(new Conv2dGeometry(1, 2, 4, 3, 2, 6, 5, PadH: 1, PadW: 1), "kernel-larger-than-input");
        yield return Case(new Conv2dGeometry(2, 3, 11, 8, 2, 3, 3, StrideH: 3, StrideW: 4, PadH: 1, PadW: 0, DilationH: 1, DilationW: 2), "stride-larger-than-kernel");
        // Unpadded with horizontal stride 1 (the plain im2col path), with a vertical stride and
        // dilation; K = 8 takes the few-taps paths with leftover rows in both 4 x 3 blocks.
        yield return Case(new Conv2dGeometry(4, 2, 12, 11, 6, 2, 2, StrideH: 2, DilationH: 2, DilationW: 2), "plain-few-taps-strided-dilated");
        // 32 output pixels, K = 45: with 2 threads, tasks of 2 images and 1 (64 and 32 columns,
        // whole strips).
        yield return Case(new Conv2dGeometry(3, 5, 10, 12, 7, 3, 3, StrideH: 2, DilationW: 2), "plain-small-planes");
        // 120 output pixels, K = 45: tasks of 2 images (240 columns, whole strips) and 1 (120
        // columns padded to 128).
        yield return Case(new Conv2dGeometry(3, 5, 10, 12, 7, 3, 3, PadH: 1), "small-planes-padded-columns");
        // 16 output pixels, K = 864: 3 images per task, so 7 images make tasks of 3, 3 and 1 (the
        // last one 16 columns, a single micro-tile strip).
        yield return Case(new Conv2dGeometry(7, 96, 6, 6, 3, 3, 3), "small-planes-uneven-tasks");
        // 20 images split into 16 uneven chunks for the few-taps weight gradient.
        yield return Case(new Conv2dGeometry(20, 1, 9, 9, 5, 3, 3), "few-taps-chunks");
        // Few taps but fewer output pixels than a vector: the small-plane tasks instead.
        yield return Case(new Conv2dGeometry(3, 1, 3, 4, 3, 2, 2), "few-taps-tiny-plane");
        // K = 32*25 = 800 rows, 529 pixels: the scratch holds 4 images, so 5 images make 2 groups.
        yield return Case(new Conv2dGeometry(5, 32, 23, 23, 2, 5, 5, PadH: 2, PadW: 2), "several-groups");
        // 800 x 2704 exceeds the group budget: one image at a time, in slabs of 327 columns that
        // start and end in the middle of output rows.
        yield return Case(new Conv2dGeometry(2, 32, 52, 52, 2, 5, 5, PadH: 2, PadW: 2), "slabs");
        // The weight gradient's GEMM gathers its im2col blocks from the images: 8 images of 121
        // pixels are 968 columns, packed in blocks of 242 that start and end inside an image and
        // inside an output row; K = 45 leaves a partial strip of 3 taps, and the product (3.5
        // MFLOP) is split between the two threads by rows, the second starting at tap 24.
        // Unpadded (each output row segment copied for every tap of a strip), then padded and
        // strided (tap by tap).
        yield return Case(new Conv2dGeometry(8, 5, 13, 13, 40, 3, 3), "implicit-columns-across-images");
        yield return Case(new Conv2dGeometry(9, 5, 12, 11, 3, 3, 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1), "implicit-columns-padded-across-images");
        yield return Case(new Conv2dGeometry(1, 32, 105, 52, 2, 5, 5, StrideH: 2, StrideW: 1, PadH: 2, PadW: 1), "slabs-strided");
        foreach (var (g, name) in WinogradGeometries()) yield return Case(g, name);
        yield return Case(TwoTilesAcross, "winograd-two-tiles-across");
    }

    /// <summary>
    /// Geometries whose three passes all take Winograd F(2x2, 3x3) (Conv2dWinograd.cs; the weight
    /// gradient goes by the forward pass's tiles).
    /// </summary>
    public static IEnumerable<(Conv2dGeometry, string)> WinogradGeometries()
    {
        // Odd planes: the last tile row and column stick out of the 13x15 output and the 15x15
        // input gradient (which pads by 2 and 1); 3 images over 2 threads are tasks of 2 and 1.
        yield return (new Conv2dGeometry(3, 8, 15, 15, 8, 3, 3, PadH: 0, PadW: 1), "winograd-odd-planes");
        // Padding 1 (the input gradient pads by 1 too), an even plane, channels that are no
        // multiple of a vector.
        yield return (new Conv2dGeometry(4, 9, 12, 10, 10, 3, 3, PadH: 1, PadW: 1), "winograd-pad1");
        // 19 and 20 tiles a row: several vectors per tile row (a vector's output spills into the
        // next row, written after it); padding 2 by 0, so the input gradient pads by 0 by 2.
        yield return (new Conv2dGeometry(2, 8, 22, 40, 8, 3, 3, PadH: 2, PadW: 0), "winograd-wide-rows");
        // 6x6 planes, 3 tiles across (fewer than a vector), 5 images: tasks of 3 and 2.
        yield return (new Conv2dGeometry(5, 12, 6, 6, 9, 3, 3, PadH: 1, PadW: 1), "winograd-small-planes");
        // 3 tiles across and 16 down: 48 tiles an image, so a task's tiles fill its rows of
        // whole GEMM strips exactly (2 images with 32-column strips, 1 with 16) and leave no
        // padding columns. A vector of 8 float tiles from the last image's second-to-last tile
        // row reaches 2 tiles past the image, into the next row of V, M or their 2 x 2 product.
        yield return (new Conv2dGeometry(4, 8, 32, 6, 8, 3, 3, PadH: 1, PadW: 1), "winograd-three-tiles-whole-strips");
        // One tile row of 3 tiles: 32 images a task with 32-column strips (16 with 16), again no
        // padding columns, and a vector from the last image but one reaches 2 tiles past the task.
        yield return (new Conv2dGeometry(64, 8, 2, 6, 8, 3, 3, PadH: 1, PadW: 1), "winograd-one-tile-row");
    }

    /// <summary>
    /// The Winograd weight gradient sums each task's partial products in task order: two runs on
    /// two threads, where tasks go to whichever thread is free, must agree to the bit.
    /// </summary>
    [Test]
    public void WinogradWeightGradientIsDeterministic()
    {
        foreach (var (g, name) in WinogradGeometries())
        {
            var rng = new Random(9);
            float[] x = RandomFloats(rng, InputSize(g)), dy = RandomFloats(rng, OutputSize(g));
            float[] dw1 = new float[WeightSize(g)], dw2 = new float[WeightSize(g)], db = new float[g.OutChannels];
            fixed (float* px = x, pdy = dy, p1 = dw1, p2 = dw2, pdb = db)
            {
                Conv2d.BackwardWeight(g, px, pdy, p1, pdb);
                Conv2d.BackwardWeight(g, px, pdy, p2, pdb);
            }
            Assert.That(dw2, Is.EqualTo(dw1), name);
        }
    }

    /// <summary>
    /// The Winograd weight gradient's partial sums must not grow with the batch: one per task of
    /// a few images, 16 x OutC x InC elements each, came to a gigabyte for a 512-channel layer on
    /// 14x14 planes and a batch of 64, kept by the calling thread. Measured on a fresh thread, whose
    /// scratch starts empty: 112 images (16 tasks of 7) against 14 (2 tasks of 7), on two threads.
    /// </summary>
    [Test]
    public void WinogradWeightGradientScratchDoesNotGrowWithTheBatch()
    {
        long Allocated(int batch)
        {
            var g = new Conv2dGeometry(batch, 256, 6, 6, 256, 3, 3, PadH: 1, PadW: 1);
            Assert.That(Conv2d.UsesWinograd<float>(g, inputGradient: false), Is.EqualTo(System.Runtime.Intrinsics.X86.Avx2.IsSupported));
            float[] x = new float[InputSize(g)], dy = new float[OutputSize(g)], dw = new float[WeightSize(g)];
            long bytes = 0;
            var thread = new Thread(() =>
            {
                fixed (float* px = x, pdy = dy, pdw = dw)
                {
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    Conv2d.BackwardWeight(g, px, pdy, pdw, null);
                    bytes = GC.GetAllocatedBytesForCurrentThread() - before;
                }
            });
            thread.Start();
            thread.Join();
            return bytes;
        }
        long few = Allocated(14), many = Allocated(112);
        Assert.That(many, Is.LessThan(few + (1 << 20)), $"scratch for 112 images: {many} bytes, for 14: {few}");
    }

    /// <summary>
    /// A 4x4 output, 2 tiles across: the forward pass and the weight gradient take Winograd, the
    /// input gradient (tiles over the 6x6 input, as many products as im2col) does not.
    /// </summary>
    private static readonly Conv2dGeometry TwoTilesAcross = new(4, 16, 6, 6, 16, 3, 3);

    [Test]
    public void WinogradGeometriesTakeWinograd()
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) Assert.Ignore("Winograd needs AVX2; this CPU has none.");
        Assert.That(Conv2d.UsesWinograd<float>(TwoTilesAcross, inputGradient: false), Is.True, "two tiles across: forward");
        Assert.That(Conv2d.UsesWinograd<float>(TwoTilesAcross, inputGradient: true), Is.False, "two tiles across: input gradient");
        foreach (var (g, name) in WinogradGeometries())
        {
            Assert.That(Conv2d.UsesWinograd<float>(g, inputGradient: false), Is.True, $"{name}: forward");
            Assert.That(Conv2d.UsesWinograd<double>(g, inputGradient: true), Is.True, $"{name}: input gradient");
        }
    }

    private static TestCaseData Case(Conv2dGeometry g, string name) => new TestCaseData(g).SetArgDisplayNames(name);

    [TestCaseSource(nameof(Geometries))]
    public void ForwardFloatMatchesReference(Conv2dGeometry g)
    {
        var rng = new Random(1);
        float[] x = RandomFloats(rng, InputSize(g)), w = RandomFloats(rng, WeightSize(g)), b = RandomFloats(rng, g.OutChannels);
        float[] y = Filled(OutputSize(g), float.NaN); // NaN-filled: every output must be written
        fixed (float* px = x, pw = w, pb = b, py = y) Conv2d.Forward(g, px, pw, pb, py);
        AssertClose(y, ReferenceForward(g, ToDouble(x), ToDouble(w), ToDouble(b)), 1e-4);
    }

    [TestCaseSource(nameof(Geometries))]
    public void ForwardDoubleMatchesReference(Conv2dGeometry g)
    {
        var rng = new Random(2);
        double[] x = RandomDoubles(rng, InputSize(g)), w = RandomDoubles(rng, WeightSize(g)), b = RandomDoubles(rng, g.OutChannels);
        double[] y = new double[OutputSize(g)];
        fixed (double* px = x, pw = w, pb = b, py = y) Conv2d.Forward(g, px, pw, pb, py);
        AssertClose(y, ReferenceForward(g, x, w, b), 1e-12);
    }

    // No bias through each path that adds it itself: few taps (K = 27) and the small-plane tasks (K = 36,
    // 56 and 120 pixels).
    [TestCase(3, 7)]
    [TestCase(4, 7)]
    [TestCase(4, 10)]
    public void ForwardWithoutBias(int inChannels, int height)
    {
        var g = new Conv2dGeometry(2, inChannels, height, height + 1, 4, 3, 3, PadH: 1, PadW: 1);
        var rng = new Random(3);
        float[] x = RandomFloats(rng, InputSize(g)), w = RandomFloats(rng, WeightSize(g));
        float[] y = new float[OutputSize(g)];
        fixed (float* px = x, pw = w, py = y) Conv2d.Forward(g, px, pw, null, py);
        AssertClose(y, ReferenceForward(g, ToDouble(x), ToDouble(w), null), 1e-4);
    }

    [TestCaseSource(nameof(Geometries))]
    public void BackwardInputFloatMatchesReference(Conv2dGeometry g)
    {
        var rng = new Random(4);
        float[] dy = RandomFloats(rng, OutputSize(g)), w = RandomFloats(rng, WeightSize(g));
        float[] dx = Filled(InputSize(g), float.NaN); // overwritten, not accumulated into
        fixed (float* pdy = dy, pw = w, pdx = dx) Conv2d.BackwardInput(g, pdy, pw, pdx);
        AssertClose(dx, ReferenceBackwardInput(g, ToDouble(dy), ToDouble(w)), 1e-4);
    }

    [TestCaseSource(nameof(Geometries))]
    public void BackwardInputDoubleMatchesReference(Conv2dGeometry g)
    {
        var rng = new Random(5);
        double[] dy = RandomDoubles(rng, OutputSize(g)), w = RandomDoubles(rng, WeightSize(g));
        double[] dx = Filled(InputSize(g), double.NaN);
        fixed (double* pdy = dy, pw = w, pdx = dx) Conv2d.BackwardInput(g, pdy, pw, pdx);
        AssertClose(dx, ReferenceBackwardInput(g, dy, w), 1e-12);
    }

    [TestCaseSource(nameof(Geometries))]
    public void BackwardWeightFloatMatchesReference(Conv2dGeometry g)
    {
        var rng = new Random(6);
        float[] x = RandomFloats(rng, InputSize(g)), dy = RandomFloats(rng, OutputSize(g));
        float[] dw = Filled(WeightSize(g), float.NaN), db = Filled(g.OutChannels, float.NaN);
        fixed (float* px = x, pdy = dy, pdw = dw, pdb = db) Conv2d.BackwardWeight(g, px, pdy, pdw, pdb);
        var (refW, refB) = ReferenceBackwardWeight(g, ToDouble(x), ToDouble(dy));
        AssertClose(dw, refW, 1e-4);
        AssertClose(db, refB, 1e-4);
    }

    [TestCaseSource(nameof(Geometries))]
    public void BackwardWeightDoubleMatchesReference(Conv2dGeometry g)
    {
        var rng = new Random(7);
        double[] x = RandomDoubles(rng, InputSize(g)), dy = RandomDoubles(rng, OutputSize(g));
        double[] dw = Filled(WeightSize(g), double.NaN), db = Filled(g.OutChannels, double.NaN);
        fixed (double* px = x, pdy = dy, pdw = dw, pdb = db) Conv2d.BackwardWeight(g, px, pdy, pdw, pdb);
        var (refW, refB) = ReferenceBackwardWeight(g, x, dy);
        AssertClose(dw, refW, 1e-12);
        AssertClose(db, refB, 1e-12);
    }

    [Test]
    public void BackwardWeightWithoutBiasAndDeterministic()
    {
        var g = new Conv2dGeometry(5, 3, 9, 7, 4, 3, 3, StrideH: 2, StrideW: 1, PadH: 1, PadW: 1);
        var rng = new Random(8);
        float[] x = RandomFloats(rng, InputSize(g)), dy = RandomFloats(rng, OutputSize(g));
        float[] dw1 = new float[WeightSize(g)], dw2 = new float[WeightSize(g)];
        fixed (float* px = x, pdy = dy, p1 = dw1, p2 = dw2)
        {
            Conv2d.BackwardWeight(g, px, pdy, p1, null);
            Conv2d.BackwardWeight(g, px, pdy, p2, null);
        }
        Assert.That(dw2, Is.EqualTo(dw1), "same inputs must give bit-identical weight gradients");
        AssertClose(dw1, ReferenceBackwardWeight(g, ToDouble(x), ToDouble(dy)).Weight, 1e-4);
    }

    /// <summary>
    /// The side-by-side weight-gradient GEMM computes d weightᵀ [K, OutC] and transposes it at the
    /// end: a K (5*3*3 = 45) and an OutC (11) that fill no register tile evenly, over 1 to 3
    /// threads, must still match the reference.
    /// </summary>
    [Test]
    public void BackwardWeightTransposedProductMatchesReferenceOnAnyThreadCount()
    {
        var g = new Conv2dGeometry(6, 5, 9, 10, 11, 3, 3, PadH: 1);
        var rng = new Random(10);
        float[] x = RandomFloats(rng, InputSize(g)), dy = RandomFloats(rng, OutputSize(g));
        var (refW, refB) = ReferenceBackwardWeight(g, ToDouble(x), ToDouble(dy));
        for (int threads = 1; threads <= 3; threads++)
        {
            using var _ = CpuThreads.Use(threads);
            float[] dw = Filled(WeightSize(g), float.NaN), db = Filled(g.OutChannels, float.NaN);
            fixed (float* px = x, pdy = dy, pdw = dw, pdb = db)
                Conv2d.BackwardWeight(g, px, pdy, pdw, pdb);
            AssertClose(dw, refW, 1e-4);
            AssertClose(db, refB, 1e-4);
        }
    }

    /// <summary>
    /// Gradient check: for loss = sum(output * r), the analytic gradients from the backward kernels
    /// must match central finite differences of the forward kernel.
    /// </summary>
    [Test]
    public void GradientsMatchFiniteDifferences()
    {
        var g = new Conv2dGeometry(2, 2, 5, 6, 3, 3, 2, StrideH: 2, StrideW: 1, PadH: 1, PadW: 1, DilationH: 1, DilationW: 2);
        var rng = new Random(9);
        double[] x = RandomDoubles(rng, InputSize(g)), w = RandomDoubles(rng, WeightSize(g)), b = RandomDoubles(rng, g.OutChannels);
        double[] r = RandomDoubles(rng, OutputSize(g));
        double[] dx = new double[x.Length], dw = new double[w.Length], db = new double[b.Length];
        fixed (double* pr = r, px = x, pw = w, pdx = dx, pdw = dw, pdb = db)
        {
            Conv2d.BackwardInput(g, pr, pw, pdx);
            Conv2d.BackwardWeight(g, px, pr, pdw, pdb);
        }

        double Loss()
        {
            double[] y = new double[r.Length];
            fixed (double* px = x, pw = w, pb = b, py = y) Conv2d.Forward(g, px, pw, pb, py);
            double sum = 0;
            for (int i = 0; i < y.Length; i++) sum += y[i] * r[i];
            return sum;
        }

        void Check(double[] parameter, double[] analytic, string name)
        {
            const double step = 1e-5;
            for (int i = 0; i < parameter.Length; i++)
            {
                double saved = parameter[i];
                parameter[i] = saved + step; double up = Loss();
                parameter[i] = saved - step; double down = Loss();
                parameter[i] = saved;
                double numeric = (up - down) / (2 * step);
                Assert.That(analytic[i], Is.EqualTo(numeric).Within(1e-7 * (1 + Math.Abs(numeric))), $"{name}[{i}]");
            }
        }

        Check(x, dx, "input");
        Check(w, dw, "weight");
        Check(b, db, "bias");
    }

    [Test]
    public void InvalidGeometryThrowsNamingTheOp()
    {
        var bad = new[]
        {
            new Conv2dGeometry(0, 1, 5, 5, 1, 3, 3),
            new Conv2dGeometry(1, 1, 5, 5, 1, 3, 3, StrideH: 0),
            new Conv2dGeometry(1, 1, 5, 5, 1, 3, 3, PadW: -1),
            new Conv2dGeometry(1, 1, 5, 5, 1, 3, 3, DilationH: 0),
            new Conv2dGeometry(1, 1, 2, 5, 1, 3, 3),                 // kernel taller than the input
            new Conv2dGeometry(1, 1, 5, 5, 1, 3, 3, DilationW: 3),   // dilated kernel spans 7 > 5
        };
        foreach (var g in bad)
        {
            var ex = Assert.Throws<ArgumentException>(() => g.Validate(), g.ToString());
            Assert.That(ex!.Message, Does.Contain("conv2d"));
        }
        // The kernels check too, for a direct caller: a batch of 0 once left the weight gradient
        // as whatever the scratch held.
        var empty = bad[0];
        float[] buffer = new float[64];
        fixed (float* p = buffer)
        {
            float* q = p;
            Assert.That(() => Conv2d.BackwardWeight(empty, q, q, q, q), Throws.ArgumentException.With.Message.Contains("batch=0"));
            Assert.That(() => Conv2d.Forward(empty, q, q, q, q), Throws.ArgumentException.With.Message.Contains("conv2d"));
            Assert.That(() => Conv2d.BackwardInput(empty, q, q, q), Throws.ArgumentException.With.Message.Contains("conv2d"));
        }
    }

    [Test]
    public void OutputSizeFollowsPyTorch()
    {
        var g = new Conv2dGeometry(1, 1, 13, 10, 1, 3, 4, StrideH: 2, StrideW: 3, PadH: 1, PadW: 2, DilationH: 2, DilationW: 1);
        // (13 + 2 - 2*2 - 1) / 2 + 1 = 6 ;  (10 + 4 - 3 - 1) / 3 + 1 = 4
        Assert.That((g.OutHeight, g.OutWidth), Is.EqualTo((6, 4)));
    }

    // ---------------------------------------------------------------- references (plain loops, double)

    private static double[] ReferenceForward(Conv2dGeometry g, double[] x, double[] w, double[]? b)
    {
        int oh = g.OutHeight, ow = g.OutWidth;
        var y = new double[OutputSize(g)];
        for (int n = 0; n < g.Batch; n++)
            for (int oc = 0; oc < g.OutChannels; oc++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        double sum = b?[oc] ?? 0;
                        for (int c = 0; c < g.InChannels; c++)
                            for (int kh = 0; kh < g.KernelHeight; kh++)
                                for (int kw = 0; kw < g.KernelWidth; kw++)
                                {
                                    int ih = i * g.StrideH - g.PadH + kh * g.DilationH, iw = j * g.StrideW - g.PadW + kw * g.DilationW;
                                    if (ih < 0 || ih >= g.InHeight || iw < 0 || iw >= g.InWidth) continue;
                                    sum += x[InIndex(g, n, c, ih, iw)] * w[WIndex(g, oc, c, kh, kw)];
                                }
                        y[((n * g.OutChannels + oc) * oh + i) * ow + j] = sum;
                    }
        return y;
    }

    private static double[] ReferenceBackwardInput(Conv2dGeometry g, double[] dy, double[] w)
    {
        var dx = new double[InputSize(g)];
        ForEachTap(g, (n, oc, c, kh, kw, ih, iw, o) => dx[InIndex(g, n, c, ih, iw)] += dy[o] * w[WIndex(g, oc, c, kh, kw)]);
        return dx;
    }

    private static (double[] Weight, double[] Bias) ReferenceBackwardWeight(Conv2dGeometry g, double[] x, double[] dy)
    {
        var dw = new double[WeightSize(g)];
        var db = new double[g.OutChannels];
        ForEachTap(g, (n, oc, c, kh, kw, ih, iw, o) => dw[WIndex(g, oc, c, kh, kw)] += dy[o] * x[InIndex(g, n, c, ih, iw)]);
        for (int n = 0; n < g.Batch; n++)
            for (int oc = 0; oc < g.OutChannels; oc++)
                for (int p = 0; p < g.OutHeight * g.OutWidth; p++)
                    db[oc] += dy[(n * g.OutChannels + oc) * g.OutHeight * g.OutWidth + p];
        return (dw, db);
    }

    private delegate void TapAction(int n, int oc, int c, int kh, int kw, int ih, int iw, int outIndex);

    /// <summary>Calls <paramref name="action"/> for every (output pixel, filter tap) pair that reads a real input pixel.</summary>
    private static void ForEachTap(Conv2dGeometry g, TapAction action)
    {
        for (int n = 0; n < g.Batch; n++)
            for (int oc = 0; oc < g.OutChannels; oc++)
                for (int i = 0; i < g.OutHeight; i++)
                    for (int j = 0; j < g.OutWidth; j++)
                        for (int c = 0; c < g.InChannels; c++)
                            for (int kh = 0; kh < g.KernelHeight; kh++)
                                for (int kw = 0; kw < g.KernelWidth; kw++)
                                {
                                    int ih = i * g.StrideH - g.PadH + kh * g.DilationH, iw = j * g.StrideW - g.PadW + kw * g.DilationW;
                                    if (ih < 0 || ih >= g.InHeight || iw < 0 || iw >= g.InWidth) continue;
                                    action(n, oc, c, kh, kw, ih, iw, ((n * g.OutChannels + oc) * g.OutHeight + i) * g.OutWidth + j);
                                }
    }

    private static int InIndex(Conv2dGeometry g, int n, int c, int h, int w) => ((n * g.InChannels + c) * g.InHeight + h) * g.InWidth + w;
    private static int WIndex(Conv2dGeometry g, int oc, int c, int kh, int kw) => ((oc * g.InChannels + c) * g.KernelHeight + kh) * g.KernelWidth + kw;
    private static int InputSize(Conv2dGeometry g) => g.Batch * g.InChannels * g.InHeight * g.InWidth;
    private static int OutputSize(Conv2dGeometry g) => g.Batch * g.OutChannels * g.OutHeight * g.OutWidth;
    private static int WeightSize(Conv2dGeometry g) => g.OutChannels * g.InChannels * g.KernelHeight * g.KernelWidth;

    private static float[] RandomFloats(Random rng, int count)
    {
        var a = new float[count];
        for (int i = 0; i < count; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    private static double[] RandomDoubles(Random rng, int count)
    {
        var a = new double[count];
        for (int i = 0; i < count; i++) a[i] = rng.NextDouble() * 2 - 1;
        return a;
    }

    private static T[] Filled<T>(int count, T value)
    {
        var a = new T[count];
        Array.Fill(a, value);
        return a;
    }

    private static double[] ToDouble(float[] a) => Array.ConvertAll(a, v => (double)v);

    private static void AssertClose(float[] actual, double[] expected, double tolerance)
        => AssertClose(ToDouble(actual), expected, tolerance);

    private static void AssertClose(double[] actual, double[] expected, double tolerance)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length));
        for (int i = 0; i < actual.Length; i++)
            if (!(Math.Abs(actual[i] - expected[i]) <= tolerance * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"element {i}: expected {expected[i]}, got {actual[i]} (tolerance {tolerance})");
    }
}
