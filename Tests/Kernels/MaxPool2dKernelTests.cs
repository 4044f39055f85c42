using NUnit.Framework;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Kernels;

/// <summary>
/// MaxPool2d CPU kernels against plain loops: forward values and argmax must match exactly
/// (PyTorch's rules for ties, padding and NaN), and the gather-style backward must equal a simple
/// scatter-add through the argmax. Widths are chosen so rows exercise both the vector blocks
/// (including an overlapping last block) and the scalar borders.
/// </summary>
[TestFixture]
public unsafe class MaxPool2dKernelTests
{
    public static IEnumerable<TestCaseData> Geometries()
    {
        yield return Case(new Pool2dGeometry(3, 5, 26, 26, 2, 2, 2, 2), "k2s2-even");
        yield return Case(new Pool2dGeometry(1, 1, 27, 41, 2, 2, 2, 2), "k2s2-odd");
        yield return Case(new Pool2dGeometry(3, 2, 23, 37, 3, 3, 1, 1), "k3s1-overlap");
        yield return Case(new Pool2dGeometry(1, 5, 40, 40, 3, 3, 1, 1, 1, 1), "k3s1p1");
        yield return Case(new Pool2dGeometry(3, 2, 31, 41, 3, 3, 2, 2), "k3s2-overlap");
        yield return Case(new Pool2dGeometry(1, 3, 36, 36, 3, 3, 2, 2, 1, 1), "k3s2p1-even");
        yield return Case(new Pool2dGeometry(3, 1, 35, 35, 3, 3, 2, 2, 1, 1), "k3s2p1-odd");
        yield return Case(new Pool2dGeometry(1, 2, 16, 16, 2, 2, 2, 2), "k2s2-row-of-one-vector");
        // Output rows narrower than a vector (5 and 3 wide): the gathering and the scalar 2x2 paths.
        yield return Case(new Pool2dGeometry(3, 4, 11, 11, 2, 2, 2, 2), "k2s2-narrow-11x11");
        yield return Case(new Pool2dGeometry(2, 3, 7, 6, 2, 2, 2, 2), "k2s2-narrow-7x6");
        yield return Case(new Pool2dGeometry(2, 1, 3, 5, 2, 2, 2, 2), "k2s2-plane-smaller-than-vector");
        yield return Case(new Pool2dGeometry(1, 2, 17, 19, 1, 1, 2, 2), "k1s2");
        yield return Case(new Pool2dGeometry(3, 1, 9, 21, 1, 1, 1, 1), "k1s1");
        yield return Case(new Pool2dGeometry(1, 5, 13, 29, 2, 3, 1, 2, 1, 1), "k2x3-s1x2-p1");
        yield return Case(new Pool2dGeometry(1, 1, 25, 50, 5, 5, 2, 2, 2, 2), "k5s2p2");
        yield return Case(new Pool2dGeometry(3, 5, 11, 31, 3, 3, 3, 3, 1, 1), "k3s3p1-scalar-stride");
        yield return Case(new Pool2dGeometry(1, 2, 14, 23, 2, 2, 3, 4), "stride-larger-than-kernel");
        yield return Case(new Pool2dGeometry(1, 1, 3, 2, 3, 2, 1, 1, 1, 1), "tiny");
    }

    private static TestCaseData Case(Pool2dGeometry g, string name) => new TestCaseData(g).SetArgDisplayNames(name);

    /// <summary>Small integers make ties common, which checks that the first maximum wins.</summary>
    private static double[] TieHeavyInput(Pool2dGeometry g, int seed)
    {
        var rng = new Random(seed);
        var x = new double[g.Batch * g.Channels * g.InHeight * g.InWidth];
        for (int i = 0; i < x.Length; i++) x[i] = rng.Next(-3, 4);
        return x;
    }

    private static double[] RandomInput(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new double[count];
        for (int i = 0; i < count; i++) x[i] = rng.NextDouble() * 2 - 1;
        return x;
    }

    [TestCaseSource(nameof(Geometries))]
    public void ForwardFloatMatchesReference(Pool2dGeometry g)
    {
        foreach (double[] x in new[] { TieHeavyInput(g, 1), RandomInput(g.Batch * g.Channels * g.InHeight * g.InWidth, 2) })
            CheckForward(g, x);
    }

    [TestCaseSource(nameof(Geometries))]
    public void ForwardDoubleMatchesReference(Pool2dGeometry g)
    {
        foreach (double[] x in new[] { TieHeavyInput(g, 3), RandomInput(g.Batch * g.Channels * g.InHeight * g.InWidth, 4) })
            CheckForwardDouble(g, x);
    }

    [TestCaseSource(nameof(Geometries))]
    public void NaNPropagatesLikePyTorch(Pool2dGeometry g)
    {
        double[] x = TieHeavyInput(g, 5);
        var rng = new Random(6);
        // Some NaN, some -inf: windows with one NaN, with several NaN, and with nothing but -inf.
        for (int i = 0; i < x.Length; i++)
        {
            int r = rng.Next(20);
            if (r == 0) x[i] = double.NaN;
            else if (r < 3) x[i] = double.NegativeInfinity;
        }
        CheckForward(g, x);
        CheckForwardDouble(g, x);
    }

    [Test]
    public void AllNegativeInfinityPicksFirstRealElement()
    {
        var g = new Pool2dGeometry(1, 1, 20, 40, 3, 3, 2, 2, 1, 1);
        double[] x = new double[g.InHeight * g.InWidth];
        Array.Fill(x, double.NegativeInfinity);
        CheckForward(g, x);
        CheckForwardDouble(g, x);
    }

    [TestCaseSource(nameof(Geometries))]
    public void BackwardFloatMatchesScatterReference(Pool2dGeometry g)
    {
        double[] x = TieHeavyInput(g, 7);
        var (_, argmax) = ReferenceForward(g, x);
        float[] dy = Array.ConvertAll(RandomInput(argmax.Length, 8), v => (float)v);
        float[] dx = new float[x.Length];
        Array.Fill(dx, float.NaN); // overwritten, not accumulated into
        fixed (float* pdy = dy, pdx = dx)
        fixed (int* pa = argmax)
            MaxPool2d.Backward(g, pdy, pa, pdx);
        // Both sum each input's gradients in output order, so they agree bit for bit.
        Assert.That(dx, Is.EqualTo(ReferenceBackward(g, argmax, dy)));
    }

    [TestCaseSource(nameof(Geometries))]
    public void BackwardDoubleMatchesScatterReference(Pool2dGeometry g)
    {
        double[] x = RandomInput(g.Batch * g.Channels * g.InHeight * g.InWidth, 9);
        var (_, argmax) = ReferenceForward(g, x);
        double[] dy = RandomInput(argmax.Length, 10);
        double[] dx = new double[x.Length];
        Array.Fill(dx, double.NaN);
        fixed (double* pdy = dy, pdx = dx)
        fixed (int* pa = argmax)
            MaxPool2d.Backward(g, pdy, pa, pdx);
        Assert.That(dx, Is.EqualTo(ReferenceBackward(g, argmax, dy)));
    }

    [Test]
    public void BackwardOfForwardRoutesEachGradientToItsMaximum()
    {
        // Overlapping windows on a plane with a single peak: the 3x3 = 9 windows containing it pick
        // it, so it receives all their gradients; every other window routes its 1 somewhere else.
        var g = new Pool2dGeometry(1, 1, 7, 7, 3, 3, 1, 1);
        float[] x = new float[49];
        x[3 * 7 + 3] = 5;
        float[] y = new float[25], dy = new float[25], dx = new float[49];
        int[] arg = new int[25];
        Array.Fill(dy, 1f);
        fixed (float* px = x, py = y, pdy = dy, pdx = dx)
        fixed (int* pa = arg)
        {
            MaxPool2d.Forward(g, px, py, pa);
            MaxPool2d.Backward(g, pdy, pa, pdx);
        }
        Assert.That(y.Count(v => v == 5f), Is.EqualTo(9));
        Assert.That(dx[24], Is.EqualTo(9f));
        Assert.That(dx.Sum(), Is.EqualTo(25f));
    }

    [Test]
    public void InvalidGeometryThrowsNamingTheOp()
    {
        var bad = new[]
        {
            new Pool2dGeometry(0, 1, 4, 4, 2, 2, 2, 2),
            new Pool2dGeometry(1, 1, 4, 4, 2, 2, 0, 2),
            new Pool2dGeometry(1, 1, 4, 4, 3, 3, 1, 1, 2, 1), // padding above half the kernel
            new Pool2dGeometry(1, 1, 4, 4, 2, 2, 1, 1, -1, 0),
            new Pool2dGeometry(1, 1, 2, 4, 3, 3, 1, 1),       // window taller than the input
        };
        foreach (var g in bad)
        {
            var ex = Assert.Throws<ArgumentException>(() => g.Validate(), g.ToString());
            Assert.That(ex!.Message, Does.Contain("max_pool2d"));
            // The max_pool2d op validates once, above the backends; the kernels assume a valid geometry.
        }
    }

    [Test]
    public void OutputSizeFollowsPyTorch()
    {
        var g = new Pool2dGeometry(1, 1, 112, 27, 3, 2, 2, 3, 1, 1);
        Assert.That((g.OutHeight, g.OutWidth), Is.EqualTo((56, 10))); // (112+2-3)/2+1, (27+2-2)/3+1
    }

    // ---------------------------------------------------------------- helpers and references

    private static void CheckForward(Pool2dGeometry g, double[] input)
    {
        float[] x = Array.ConvertAll(input, v => (float)v);
        var (refY, refArg) = ReferenceForward(g, input);
        float[] y = new float[refY.Length];
        int[] arg = new int[refY.Length];
        fixed (float* px = x, py = y)
        fixed (int* pa = arg)
            MaxPool2d.Forward(g, px, py, pa);
        Assert.That(arg, Is.EqualTo(refArg), "float argmax");
        Assert.That(y, Is.EqualTo(Array.ConvertAll(refY, v => (float)v)), "float values");
    }

    private static void CheckForwardDouble(Pool2dGeometry g, double[] x)
    {
        var (refY, refArg) = ReferenceForward(g, x);
        double[] y = new double[refY.Length];
        int[] arg = new int[refY.Length];
        fixed (double* px = x, py = y)
        fixed (int* pa = arg)
            MaxPool2d.Forward(g, px, py, pa);
        Assert.That(arg, Is.EqualTo(refArg), "double argmax");
        Assert.That(y, Is.EqualTo(refY), "double values");
    }

    /// <summary>PyTorch's CPU loop: start at -inf with the first real element's index; take v when v &gt; max or v is NaN.</summary>
    private static (double[] Values, int[] Argmax) ReferenceForward(Pool2dGeometry g, double[] x)
    {
        int oh = g.OutHeight, ow = g.OutWidth, plane = g.InHeight * g.InWidth;
        var y = new double[g.Batch * g.Channels * oh * ow];
        var arg = new int[y.Length];
        for (int nc = 0; nc < g.Batch * g.Channels; nc++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int h0 = i * g.StrideH - g.PadH, w0 = j * g.StrideW - g.PadW;
                    int hs = Math.Max(h0, 0), he = Math.Min(h0 + g.KernelHeight, g.InHeight);
                    int ws = Math.Max(w0, 0), we = Math.Min(w0 + g.KernelWidth, g.InWidth);
                    double best = double.NegativeInfinity;
                    int bestIndex = hs * g.InWidth + ws;
                    for (int h = hs; h < he; h++)
                        for (int w = ws; w < we; w++)
                        {
                            double v = x[nc * plane + h * g.InWidth + w];
                            if (v > best || double.IsNaN(v)) { best = v; bestIndex = h * g.InWidth + w; }
                        }
                    y[(nc * oh + i) * ow + j] = best;
                    arg[(nc * oh + i) * ow + j] = bestIndex;
                }
        return (y, arg);
    }

    /// <summary>The obvious scatter: each output adds its gradient to the input it picked.</summary>
    private static T[] ReferenceBackward<T>(Pool2dGeometry g, int[] argmax, T[] dy) where T : System.Numerics.INumber<T>
    {
        int plane = g.InHeight * g.InWidth, outPlane = g.OutHeight * g.OutWidth;
        var dx = new T[g.Batch * g.Channels * plane];
        Array.Fill(dx, T.Zero);
        for (int nc = 0; nc < g.Batch * g.Channels; nc++)
            for (int o = 0; o < outPlane; o++)
                dx[nc * plane + argmax[nc * outPlane + o]] += dy[nc * outPlane + o];
        return dx;
    }
}
