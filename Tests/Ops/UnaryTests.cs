using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Ops;

/// <summary>One unary op: how to call it, its scalar reference, and the inputs it is tested on (a map of uniform [-1, 1)).</summary>
public sealed record UnaryCase(string Name, Func<Tensor, Tensor> Op, Func<double, double> Reference, Func<double, double> Domain, Func<double, double>? GradDomain = null)
{
    public override string ToString() => Name;
}

[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class UnaryTests(Device device)
{
    private static double Gelu(double x) => x * 0.5 * (1 + SpecialFunctions.Erf(x / Math.Sqrt(2)));
    private static double Wide(double u) => u * 5;
    private static double PositiveWide(double u) => (u + 1.002) * 5;   // (0.01, 10)

    public static readonly UnaryCase[] Cases =
    [
        new("neg", x => x.Neg(), v => -v, Wide),
        new("neg_operator", x => -x, v => -v, Wide),
        new("abs", x => x.Abs(), Math.Abs, Wide, Ref.AwayFromZero),
        new("exp", x => x.Exp(), Math.Exp, Wide),
        new("log", x => x.Log(), Math.Log, PositiveWide, Ref.Positive),
        new("sqrt", x => x.Sqrt(), Math.Sqrt, PositiveWide, Ref.Positive),
        new("rsqrt", x => x.Rsqrt(), v => 1 / Math.Sqrt(v), PositiveWide, Ref.Positive),
        new("pow3", x => x.Pow(3), v => v * v * v, u => u * 2),
        new("pow2.5", x => x.Pow(2.5), v => Math.Pow(v, 2.5), PositiveWide, Ref.Positive),
        new("pow-1.5", x => x.Pow(-1.5), v => Math.Pow(v, -1.5), PositiveWide, Ref.Positive),
        new("square", x => x.Square(), v => v * v, Wide),
        new("tanh", x => x.Tanh(), Math.Tanh, Wide),
        new("sigmoid", x => x.Sigmoid(), v => 1 / (1 + Math.Exp(-v)), u => u * 12),
        new("relu", x => x.Relu(), v => Math.Max(v, 0), Wide, Ref.AwayFromZero),
        new("gelu", x => x.Gelu(), Gelu, Wide),
        new("sin", x => x.Sin(), Math.Sin, u => u * 10),
        new("cos", x => x.Cos(), Math.Cos, u => u * 10),
        new("clamp", x => x.Clamp(-0.3, 0.4), v => Math.Clamp(v, -0.3, 0.4), u => u,
            u => u < -0.3 ? u - 0.1 : u > 0.4 ? u + 0.1 : u * 0.25 + 0.05),   // away from both bounds
    ];

    [TestCaseSource(nameof(Cases))]
    public void Float32NonContiguousMatchesReference(UnaryCase c)
    {
        int[] baseShape = [33, 67, 5];
        var v = Ref.AsFloat(Reference.Values(Ref.Count(baseShape), 11).Select(c.Domain).ToArray());
        using var x = Ref.Make(v, baseShape, device);
        using var view = x.Permute(2, 0, 1);          // [5, 33, 67], non-contiguous
        Assert.That(view.Layout.IsContiguous, Is.False);
        using var y = c.Op(view);
        Assert.That(y.Shape, Is.EqualTo(new[] { 5, 33, 67 }));
        Assert.That(y.DType, Is.EqualTo(DType.Float32));
        var expected = Ref.Build([5, 33, 67], ix => c.Reference(Ref.Get(v, baseShape, ix[1], ix[2], ix[0])));
        Reference.AssertClose(y.ToDoubleArray(), expected, 2e-6, 2e-6, c.Name);
    }

    [TestCaseSource(nameof(Cases))]
    public void Float64AwkwardShapeMatchesReference(UnaryCase c)
    {
        int[] shape = Ref.AwkwardShape(device);
        var v = Reference.Values(Ref.Count(shape), 12).Select(c.Domain).ToArray();
        using var x = Ref.Make(v, shape, device, DType.Float64);
        using var y = c.Op(x);
        Assert.That(y.DType, Is.EqualTo(DType.Float64));
        Reference.AssertClose(y.ToDoubleArray(), v.Select(c.Reference).ToArray(), 1e-14, 1e-13, c.Name);
    }

    [TestCaseSource(nameof(Cases))]
    public void Gradient(UnaryCase c) =>
        Reference.AssertGradients(x => c.Op(x[0]), Ref.Leaf([3, 4], device, 21, c.GradDomain ?? (u => u * 2)));

    [TestCaseSource(nameof(Cases))]
    public void GradientThroughTranspose(UnaryCase c) =>
        Reference.AssertGradients(x => c.Op(x[0].T), Ref.Leaf([2, 5], device, 22, c.GradDomain ?? (u => u * 2)));

    [Test]
    public void SignMatchesReferenceAndIsNotRecorded()
    {
        double[] v = [-2.5, -0.0, 0, 1e-30, 3, double.NaN, double.NegativeInfinity];
        using var x = Ref.Make(v, [7], device, DType.Float64);
        x.RequiresGrad = true;
        using var y = x.Sign();
        Reference.AssertClose(y.ToDoubleArray(), [-1, 0, 0, 1, 1, double.NaN, -1], 0, 0, "sign");
        Assert.That(y.RequiresGrad, Is.False);
    }

    [Test]
    public void GeluMatchesErfTable()
    {
        // erf(t) from tables; GELU(x) = x/2 (1 + erf(x / sqrt 2)) at x = t sqrt 2.
        (double T, double Erf)[] table = [(0, 0), (0.5, 0.5204998778130465), (1, 0.8427007929497149), (2, 0.9953222650189527),
            (3, 0.9999779095030014), (-1.5, -0.9661051464753108)];
        var xs = table.Select(e => e.T * Math.Sqrt(2)).ToArray();
        var expected = table.Select(e => e.T * Math.Sqrt(2) * 0.5 * (1 + e.Erf)).ToArray();
        using var x64 = Ref.Make(xs, [xs.Length], device, DType.Float64);
        using var y64 = x64.Gelu();
        Reference.AssertClose(y64.ToDoubleArray(), expected, 1e-15, 1e-14, "gelu float64");
        using var x32 = Ref.Make(xs, [xs.Length], device);
        using var y32 = x32.Gelu();
        Reference.AssertClose(y32.ToDoubleArray(), expected, 1e-6, 1e-6, "gelu float32");
    }

    [Test]
    public void Float32GeluGradientMatchesTheDerivative()
    {
        // The float kernel's derivative Phi(x) + x phi(x), on an awkward shape (vector body and scalar tail), incl. the far tails.
        int[] shape = Ref.AwkwardShape(device);
        var v = Ref.AsFloat(Reference.Values(Ref.Count(shape), 13).Select(u => u * 12).ToArray());
        using var x = Ref.Make(v, shape, device);
        x.RequiresGrad = true;
        using (var y = x.Gelu())
        using (var sum = y.Sum())
            sum.Backward();
        var expected = v.Select(t => 0.5 * (1 + SpecialFunctions.Erf(t / Math.Sqrt(2))) + t * Math.Exp(-0.5 * t * t) / Math.Sqrt(2 * Math.PI)).ToArray();
        Reference.AssertClose(x.Grad!.ToDoubleArray(), expected, 2e-6, 2e-6, "gelu gradient float32");
    }

    [Test]
    public void FloatPrecisionNormalCdfStaysWithinItsBound()
    {
        // The fit float GELU uses, against the series, from the lower tail to where Phi rounds to 1. The
        // series computes 0.5 (1 + erf), which cancels in the lower tail: hence the small absolute term.
        for (int i = -12_000; i <= 8_000; i++)
        {
            double x = i * 1e-3, exact = SpecialFunctions.NormalCdf(x);
            Assert.That(Math.Abs(SpecialFunctions.NormalCdfSingle(x) - exact), Is.LessThanOrEqualTo(1.1e-7 * exact + 1e-16), $"Phi({x})");
        }
        Assert.That(SpecialFunctions.NormalCdfSingle(double.NaN), Is.NaN);
        Assert.That(SpecialFunctions.NormalCdfSingle(double.NegativeInfinity), Is.EqualTo(0));
        Assert.That(SpecialFunctions.NormalCdfSingle(double.PositiveInfinity), Is.EqualTo(1));
    }

    [Test]
    public void ErfMatchesKnownValues()
    {
        (double X, double Erf)[] table =
        [
            (0, 0), (0.1, 0.1124629160182849), (0.5, 0.5204998778130465), (1, 0.8427007929497149), (2, 0.9953222650189527),
            (2.5, 0.999593047982555), (3, 0.9999779095030014), (3.5, 0.9999992569016276), (-1.5, -0.9661051464753108), (-3, -0.9999779095030014),
        ];
        foreach (var (x, erf) in table)
            Assert.That(SpecialFunctions.Erf(x), Is.EqualTo(erf).Within(1e-14), $"erf({x})");
        Assert.That(SpecialFunctions.Erf(30), Is.EqualTo(1));
        Assert.That(SpecialFunctions.Erf(double.NegativeInfinity), Is.EqualTo(-1));
        Assert.That(SpecialFunctions.Erf(double.NaN), Is.NaN);
    }

    [Test]
    public void SpecialValues()
    {
        using var x = Ref.Make([0, -1, double.PositiveInfinity, double.NegativeInfinity, -1000, 1000], [6], device);
        using (var log = x.Log()) Reference.AssertClose(log.ToDoubleArray(), [double.NegativeInfinity, double.NaN, double.PositiveInfinity, double.NaN, double.NaN, Math.Log(1000)], 1e-6, 1e-6, "log");
        using (var sqrt = x.Sqrt()) Reference.AssertClose(sqrt.ToDoubleArray(), [0, double.NaN, double.PositiveInfinity, double.NaN, double.NaN, Math.Sqrt(1000)], 1e-6, 1e-6, "sqrt");
        using (var exp = x.Exp()) Reference.AssertClose(exp.ToDoubleArray(), [1, Math.Exp(-1), double.PositiveInfinity, 0, 0, double.PositiveInfinity], 1e-7, 1e-6, "exp");
        using (var sig = x.Sigmoid()) Reference.AssertClose(sig.ToDoubleArray(), [0.5, 1 / (1 + Math.E), 1, 0, 0, 1], 1e-7, 1e-6, "sigmoid");
        using (var tanh = x.Tanh()) Reference.AssertClose(tanh.ToDoubleArray(), [0, Math.Tanh(-1), 1, -1, -1, 1], 1e-7, 1e-6, "tanh");
        using (var relu = x.Relu()) Reference.AssertClose(relu.ToDoubleArray(), [0, 0, double.PositiveInfinity, 0, 0, 1000], 0, 0, "relu");
    }

    [Test]
    public void ReluGradientPassesOnlyWherePositiveOrNaN()
    {
        // PyTorch's threshold_backward: 0 where the input is <= 0 (at 0 too), the upstream gradient
        // elsewhere, NaN inputs included; an infinite or NaN gradient is not turned into NaN by a 0 mask.
        using var x = Ref.Make([-2, 0, 3, double.NaN, -1, 5, 0.5], [7], device);
        x.RequiresGrad = true;
        using var upstream = Ref.Make([1, 2, 3, 4, double.PositiveInfinity, double.NaN, 7], [7], device);
        using var y = x.Relu();
        y.Backward(upstream);
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(new[] { 0, 0, 3, 4, 0, double.NaN, 7 }));
    }

    [Test]
    public void ClampRejectsMinAboveMax()
    {
        using var x = Tensor.Zeros([2], device: device);
        Ref.Throws<ArgumentException>(() => x.Clamp(1, -1), "clamp", "1", "-1");
    }

    [Test]
    public void IntegerInputIsRejected()
    {
        using var x = Tensor.Arange(4, DType.Int32, device);
        Ref.Throws<ArgumentException>(() => x.Exp(), "exp", "int32");
    }

    [Test]
    public void ViewWithAnOffset()
    {
        var v = Reference.Values(6 * 4, 26);
        using var x0 = Ref.Make(v, [6, 4], device, DType.Float64);
        using var x = x0.Narrow(0, 3, 2);   // contiguous, offset 12
        using var y = x.Exp();
        Reference.AssertClose(y.ToDoubleArray(), v.Skip(12).Take(8).Select(Math.Exp).ToArray(), 1e-15, 1e-14, "exp of a narrowed view");
    }
}
