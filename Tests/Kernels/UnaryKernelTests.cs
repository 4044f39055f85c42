using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Kernels;

/// <summary>
/// The float GELU kernel in both its vector widths, on every machine: eight lanes (AVX2, with the
/// project's own exp) and sixteen (the AVX-512 path, emulated in software where the CPU lacks it),
/// so the code an AVX-512 machine runs is checked here too.
/// </summary>
[TestFixture]
[NonParallelizable] // flips a process-wide switch (Unary.UseVector512)
public unsafe class UnaryKernelTests
{
    [Test]
    public void FloatGeluMatchesTheDoubleFormulaInBothVectorWidths([Values(false, true)] bool use512, [Values(false, true)] bool gradient)
    {
        bool saved = Unary.UseVector512;
        // 7 x 16 + 13 values: whole 16-lane and 8-lane steps, a lone 8-lane step and a scalar tail;
        // from deep in the lower tail (where GELU underflows to -0) to where Phi rounds to 1.
        var rng = new Random(11);
        float[] x = [0f, -0f, 1e-30f, -30f, 30f, .. Enumerable.Range(0, 7 * 16 + 8).Select(_ => (float)(rng.NextDouble() * 24 - 12))];
        var y = new float[x.Length];
        try
        {
            Unary.UseVector512 = use512;
            fixed (float* px = x, py = y)
                Unary.Apply(gradient ? UnaryOp.GeluGrad : UnaryOp.Gelu, px, py, x.Length, 0f, 0f);
        }
        finally
        {
            Unary.UseVector512 = saved;
        }
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i], phi = 0.5 * (1 + SpecialFunctions.Erf(v / Math.Sqrt(2))), density = Math.Exp(-0.5 * v * v) / Math.Sqrt(2 * Math.PI);
            double expected = gradient ? phi + v * density : v * phi;
            Assert.That(y[i], Is.EqualTo(expected).Within(2e-6 * Math.Abs(expected) + 2e-6),
                $"{(gradient ? "GeluGrad" : "Gelu")}({v}), {(use512 ? 16 : 8)} lanes");
        }
    }
}
