using System.Numerics;
using NUnit.Framework;
using Tensorium.Kernels.Cpu;

namespace Tensorium.Tests.Kernels;

/// <summary>
/// Softmax / log-softmax kernels against plain double-precision scalar references, on awkward
/// shapes, large magnitudes, in place, and gradients checked by finite differences.
/// </summary>
[TestFixture]
public unsafe class SoftmaxKernelTests
{
    private static readonly (int Rows, int Cols)[] Shapes =
        { (1, 1), (3, 1), (1, 7), (67, 45), (5, 1000), (513, 300), (2, 17) };

    private static double[] Random(int n, double magnitude, int seed)
    {
        var rng = new Random(seed);
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = (rng.NextDouble() * 2 - 1) * magnitude;
        return a;
    }

    private static T[] Cast<T>(double[] a) where T : IFloatingPointIeee754<T> =>
        a.Select(T.CreateTruncating).ToArray();

    private static double[] ToDouble<T>(T[] a) where T : IFloatingPointIeee754<T> =>
        a.Select(double.CreateTruncating).ToArray();

    // ---- scalar references, the textbook formulas in double ----

    private static double[] RefSoftmax(double[] x, int rows, int cols, bool log)
    {
        var y = new double[x.Length];
        for (int r = 0; r < rows; r++)
        {
            double max = double.NegativeInfinity;
            for (int c = 0; c < cols; c++) max = Math.Max(max, x[r * cols + c]);
            double sum = 0;
            for (int c = 0; c < cols; c++) sum += Math.Exp(x[r * cols + c] - max);
            for (int c = 0; c < cols; c++)
                y[r * cols + c] = log ? x[r * cols + c] - max - Math.Log(sum) : Math.Exp(x[r * cols + c] - max) / sum;
        }
        return y;
    }

    private static double[] RefBackward(double[] y, double[] gy, int rows, int cols, bool log)
    {
        var gx = new double[y.Length];
        for (int r = 0; r < rows; r++)
        {
            double s = 0;
            for (int c = 0; c < cols; c++) s += log ? gy[r * cols + c] : gy[r * cols + c] * y[r * cols + c];
            for (int c = 0; c < cols; c++)
            {
                int i = r * cols + c;
                gx[i] = log ? gy[i] - Math.Exp(y[i]) * s : y[i] * (gy[i] - s);
            }
        }
        return gx;
    }

    // ---- kernel wrappers ----

    private static T[] Forward<T>(T[] x, int rows, int cols, bool log, bool inPlace = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = inPlace ? x : new T[x.Length];
        fixed (T* px = x, py = y)
        {
            if (log) Softmax.LogForward(px, py, rows, cols);
            else Softmax.Forward(px, py, rows, cols);
        }
        return y;
    }

    private static T[] Backward<T>(T[] y, T[] gy, int rows, int cols, bool log)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var gx = new T[y.Length];
        fixed (T* py = y, pg = gy, px = gx)
        {
            if (log) Softmax.LogBackward(py, pg, px, rows, cols);
            else Softmax.Backward(py, pg, px, rows, cols);
        }
        return gx;
    }

    private static void AssertClose(double[] expected, double[] actual, double rel, double abs, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < expected.Length; i++)
        {
            double tol = abs + rel * Math.Abs(expected[i]);
            if (!(Math.Abs(expected[i] - actual[i]) <= tol))
                Assert.Fail($"{what}: element {i}: expected {expected[i]}, got {actual[i]} (tolerance {tol})");
        }
    }

    // ---- forward ----

    [Test]
    public void ForwardMatchesReference([Values] bool log, [Values(1.0, 1000.0)] double magnitude)
    {
        foreach (var (rows, cols) in Shapes)
        {
            var x = Random(rows * cols, magnitude, rows * 31 + cols);
            var expected = RefSoftmax(x, rows, cols, log);
            string what = $"{(log ? "log_softmax" : "softmax")} {rows}x{cols} magnitude {magnitude}";
            // float: the inputs are rounded to float first, so compare with the reference of
            // the rounded inputs.
            var xf = Cast<float>(x);
            var expectedF = RefSoftmax(ToDouble(xf), rows, cols, log);
            AssertClose(expectedF, ToDouble(Forward(xf, rows, cols, log)), 2e-6, log ? 2e-6 : 1e-7, what + " float");
            AssertClose(expected, ToDouble(Forward(Cast<double>(x), rows, cols, log)), 1e-13, 1e-15, what + " double");
        }
    }

    [Test]
    public void ForwardInPlaceMatchesOutOfPlace([Values] bool log)
    {
        const int rows = 67, cols = 45;
        var x = Cast<float>(Random(rows * cols, 10, 3));
        var outOfPlace = Forward(x, rows, cols, log);
        var inPlace = Forward((float[])x.Clone(), rows, cols, log, inPlace: true);
        Assert.That(inPlace, Is.EqualTo(outOfPlace));
    }

    [Test]
    public void SoftmaxRowsSumToOneAndLogSoftmaxIsItsLog()
    {
        const int rows = 9, cols = 1000;
        var x = Cast<double>(Random(rows * cols, 50, 4));
        var p = Forward(x, rows, cols, log: false);
        var lp = Forward(x, rows, cols, log: true);
        for (int r = 0; r < rows; r++)
            Assert.That(p.Skip(r * cols).Take(cols).Sum(), Is.EqualTo(1.0).Within(1e-12));
        for (int i = 0; i < p.Length; i++)
            Assert.That(Math.Exp(lp[i]), Is.EqualTo(p[i]).Within(1e-15 + 1e-12 * p[i]));
    }

    [Test]
    public void AllNegativeInfinityRowGivesNaNLikePyTorch([Values] bool log)
    {
        var x = new[] { float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, 1f, 2f, float.NegativeInfinity };
        var y = Forward(x, 2, 3, log);
        Assert.That(y.Take(3).All(float.IsNaN), "fully -inf row");
        // A partially -inf row is fine: the -inf entries get probability 0 (log-prob -inf).
        Assert.That(y[5], Is.EqualTo(log ? float.NegativeInfinity : 0f));
        Assert.That(float.IsFinite(y[3]) && float.IsFinite(y[4]));
    }

    [Test]
    public void EmptyShapesDoNothingAndNegativeShapesThrow()
    {
        float* none = null;
        Softmax.Forward(none, none, 0, 5);
        Softmax.LogForward(none, none, 5, 0);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Softmax.Forward(none, none, -1, 5));
        Assert.That(ex!.Message, Does.Contain("softmax"));
        ex = Assert.Throws<ArgumentOutOfRangeException>(() => Softmax.LogBackward(none, none, none, 2, -3));
        Assert.That(ex!.Message, Does.Contain("log_softmax_backward"));
    }

    // ---- backward ----

    [Test]
    public void BackwardMatchesAnalyticReference([Values] bool log)
    {
        foreach (var (rows, cols) in Shapes)
        {
            var x = Random(rows * cols, 5, rows + 7 * cols);
            var gy = Random(rows * cols, 1, rows + 11 * cols);
            string what = $"{(log ? "log_softmax" : "softmax")} backward {rows}x{cols}";

            var yd = Forward(Cast<double>(x), rows, cols, log);
            AssertClose(RefBackward(yd, gy, rows, cols, log), ToDouble(Backward(yd, Cast<double>(gy), rows, cols, log)),
                1e-12, 1e-14, what + " double");

            var yf = Forward(Cast<float>(x), rows, cols, log);
            var gyf = Cast<float>(gy);
            AssertClose(RefBackward(ToDouble(yf), ToDouble(gyf), rows, cols, log), ToDouble(Backward(yf, gyf, rows, cols, log)),
                1e-5, 1e-6, what + " float");
        }
    }

    [Test]
    public void BackwardMatchesFiniteDifferences([Values] bool log, [Values(1, 5, 33)] int cols)
    {
        // loss = sum(w * f(x)); dloss/dx via the kernel (gradY = w) versus central differences.
        const int rows = 3;
        const double h = 1e-6;
        var x = Random(rows * cols, 3, cols);
        var w = Random(rows * cols, 1, cols + 100);
        double Loss(double[] input)
        {
            var y = Forward(input, rows, cols, log);
            double s = 0;
            for (int i = 0; i < y.Length; i++) s += w[i] * y[i];
            return s;
        }
        var analytic = Backward(Forward(x, rows, cols, log), w, rows, cols, log);
        for (int i = 0; i < x.Length; i++)
        {
            var plus = (double[])x.Clone(); plus[i] += h;
            var minus = (double[])x.Clone(); minus[i] -= h;
            double numeric = (Loss(plus) - Loss(minus)) / (2 * h);
            Assert.That(analytic[i], Is.EqualTo(numeric).Within(1e-7 + 1e-6 * Math.Abs(numeric)), $"element {i}");
        }
    }

    [Test]
    public void VectorExpIsAccurateOverTheFloatRange()
    {
        // LogBackward with gradY = (1, 0, 0, ...) returns gradX_j = -exp(y_j) for j > 0, which
        // exposes the kernels' vectorised float exp to a direct check against Math.Exp.
        const int cols = 4001;
        var y = new float[cols];
        var gy = new float[cols];
        gy[0] = 1;
        for (int j = 1; j < cols - 4; j++) y[j] = -100f + 188f * j / cols; // -100 .. 88
        y[cols - 4] = float.NegativeInfinity;
        y[cols - 3] = float.NaN;
        y[cols - 2] = 0f;
        y[cols - 1] = -87f;
        var gx = Backward(y, gy, 1, cols, log: true);
        for (int j = 1; j < cols - 3; j++)
        {
            double expected = Math.Exp(y[j]);
            double got = -gx[j];
            // Within 2 float ulps, or (below the smallest normal float) flushed to zero.
            double tol = expected < 1.2e-38 ? 1.2e-38 : 2.5 * 5.96e-8 * expected;
            Assert.That(got, Is.EqualTo(expected).Within(tol), $"exp({y[j]})");
        }
        Assert.That(float.IsNaN(gx[cols - 3]), "exp(NaN) is NaN");
    }

    [Test]
    public void BackwardAllowsGradXToAliasGradY([Values] bool log)
    {
        const int rows = 5, cols = 37;
        var y = Forward(Cast<float>(Random(rows * cols, 3, 1)), rows, cols, log);
        var gy = Cast<float>(Random(rows * cols, 1, 2));
        var expected = Backward(y, gy, rows, cols, log);
        fixed (float* py = y, pg = gy)
        {
            if (log) Softmax.LogBackward(py, pg, pg, rows, cols);
            else Softmax.Backward(py, pg, pg, rows, cols);
        }
        Assert.That(gy, Is.EqualTo(expected));
    }
}
