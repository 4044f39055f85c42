using System.Runtime.Intrinsics;
using Tensorium.Kernels.Cpu;

namespace Tensorium.Tests.Kernels;

/// <summary>
/// The project's fast float exp in its sixteen-lane form (<see cref="VectorExp.Exp(Vector512{float})"/>,
/// used by GELU on AVX-512 machines) against Math.Exp: the eight-lane pair is checked through the
/// softmax kernels (SoftmaxKernelTests.VectorExpIsAccurateOverTheFloatRange).
/// </summary>
[TestFixture]
public class VectorExpTests
{
    [Test]
    public void SixteenLaneExpIsWithinOneUlpOverTheFloatRange()
    {
        if (!VectorExp.IsSupported512) Assert.Ignore("this CPU has no AVX-512, so VectorExp.Exp(Vector512) cannot run here");
        const int count = 16 * 2000;
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = -100f + 188f * i / count;   // -100 .. 88, past both ends of the normal range
        var y = new float[count];
        for (int i = 0; i < count; i += 16)
            VectorExp.Exp(Vector512.Create(x.AsSpan(i, 16))).CopyTo(y.AsSpan(i));
        for (int i = 0; i < count; i++)
        {
            double expected = Math.Exp(x[i]);
            // Under 0.9 ulp as measured, or (below the smallest normal float) flushed to zero.
            double tolerance = expected < 1.2e-38 ? 1.2e-38 : 1.5 * 5.96e-8 * expected;
            Assert.That((double)y[i], Is.EqualTo(expected).Within(tolerance), $"exp({x[i]})");
        }
    }

    [Test]
    public void SixteenLaneExpKeepsNaNAndGivesZeroForMinusInfinity()
    {
        if (!VectorExp.IsSupported512) Assert.Ignore("this CPU has no AVX-512, so VectorExp.Exp(Vector512) cannot run here");
        var x = Vector512.Create(float.NaN, float.NegativeInfinity, -87.4f, 0f, 1f, -1f, 88.6f, float.NaN,
            -0f, 1e-30f, -1e-30f, 10f, -10f, 50f, -50f, 2f);
        var y = VectorExp.Exp(x);
        Assert.That(float.IsNaN(y[0]) && float.IsNaN(y[7]), "exp(NaN) is NaN");
        Assert.That(y[1], Is.EqualTo(0f), "exp(-inf)");
        Assert.That(y[2], Is.EqualTo(0f), "below ln(FLT_MIN) the result is flushed to 0");
        Assert.That(y[3], Is.EqualTo(1f), "exp(0)");
        Assert.That(y[8], Is.EqualTo(1f), "exp(-0)");
        for (int i = 4; i < 16; i++)
            if (i is not 7 and not 8)
                Assert.That((double)y[i], Is.EqualTo(Math.Exp(x[i])).Within(1.5 * 5.96e-8 * Math.Exp(x[i])), $"exp({x[i]})");
    }
}
