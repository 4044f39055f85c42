namespace Tensorium.Tests.Ops;

/// <summary>One binary op with its float and integer scalar references.</summary>
public sealed record BinaryCase(string Name, Func<Tensor, Tensor, Tensor> Op, Func<double, double, double> Reference, bool Differentiable = true)
{
    public override string ToString() => Name;
}

[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class BinaryTests(Device device)
{
    public static readonly BinaryCase[] Arithmetic =
    [
        new("add", (a, b) => a + b, (x, y) => x + y),
        new("sub", (a, b) => a - b, (x, y) => x - y),
        new("mul", (a, b) => a * b, (x, y) => x * y),
        new("div", (a, b) => a / b, (x, y) => x / y),
        new("add_method", (a, b) => a.Add(b), (x, y) => x + y),
        new("sub_method", (a, b) => a.Sub(b), (x, y) => x - y),
        new("mul_method", (a, b) => a.Mul(b), (x, y) => x * y),
        new("div_method", (a, b) => a.Div(b), (x, y) => x / y),
        new("maximum", (a, b) => a.Maximum(b), Math.Max),
        new("minimum", (a, b) => a.Minimum(b), Math.Min),
    ];

    public static readonly BinaryCase[] Comparisons =
    [
        new("eq", (a, b) => a.Eq(b), (x, y) => x == y ? 1 : 0, false),
        new("ne", (a, b) => a.Ne(b), (x, y) => x != y ? 1 : 0, false),
        new("lt", (a, b) => a.Lt(b), (x, y) => x < y ? 1 : 0, false),
        new("le", (a, b) => a.Le(b), (x, y) => x <= y ? 1 : 0, false),
        new("gt", (a, b) => a.Gt(b), (x, y) => x > y ? 1 : 0, false),
        new("ge", (a, b) => a.Ge(b), (x, y) => x >= y ? 1 : 0, false),
    ];

    /// <summary>Computes op over broadcast shapes sa, sb with the reference in float32 arithmetic (as the kernels do).</summary>
    private static double[] Broadcast(int[] outShape, double[] va, int[] sa, double[] vb, int[] sb, Func<double, double, double> f, bool asFloat) =>
        Ref.Build(outShape, ix =>
        {
            double r = f(va[Reference.BroadcastFlat(ix, sa)], vb[Reference.BroadcastFlat(ix, sb)]);
            return asFloat ? (float)r : r;
        });

    [Test]
    public void AddBroadcastsLikeNumPy()
    {
        int[] sa = [67, 1, 33], sb = [45, 1];
        using var a = Reference.Random(sa, device, 1);
        using var b = Reference.Random(sb, device, 2);
        using var y = a + b;
        Assert.That(y.Shape, Is.EqualTo(new[] { 67, 45, 33 }));
        var va = a.ToDoubleArray(); var vb = b.ToDoubleArray();
        var expected = Enumerable.Range(0, y.Count).Select(i =>
        {
            var idx = Reference.Unravel(i, y.Shape);
            return (double)((float)va[Reference.BroadcastFlat(idx, sa)] + (float)vb[Reference.BroadcastFlat(idx, sb)]);
        }).ToArray();
        Reference.AssertClose(y.ToDoubleArray(), expected, 0, 0, "add");
    }

    [TestCaseSource(nameof(Arithmetic))]
    public void Float32BroadcastNonContiguous(BinaryCase c)
    {
        // a: [n0, 1, n2] contiguous; b: a [1, n1] base seen transposed as [n1, 1] (non-contiguous after expand).
        int[] shape = Ref.AwkwardShape(device);
        int[] sa = [shape[0], 1, shape[2]], sb = [shape[1], 1];
        var va = Ref.AsFloat(Reference.Values(shape[0] * shape[2], 3));
        var vb = Ref.AsFloat(Reference.Values(shape[1], 4).Select(Ref.AwayFromZero).ToArray());
        using var a = Ref.Make(va, sa, device);
        using var bBase = Ref.Make(vb, [1, shape[1]], device);
        using var b = bBase.T;
        using var y = c.Op(a, b);
        Assert.That(y.Shape, Is.EqualTo(shape));
        Reference.AssertClose(y.ToDoubleArray(), Broadcast(shape, va, sa, vb, sb, c.Reference, true), 0, 0, c.Name);
        // Swapped roles: the broadcast operand first.
        using var z = c.Op(b, a);
        Reference.AssertClose(z.ToDoubleArray(), Broadcast(shape, vb, sb, va, sa, c.Reference, true), 0, 0, c.Name + " swapped");
    }

    [TestCaseSource(nameof(Arithmetic))]
    public void Float64StridedOperands(BinaryCase c)
    {
        // Both operands are strided views: a transposed, b sliced with a step.
        var va = Reference.Values(9 * 7, 5); var vb = Reference.Values(7 * 18, 6).Select(Ref.AwayFromZero).ToArray();
        using var aBase = Ref.Make(va, [9, 7], device, DType.Float64);
        using var bBase = Ref.Make(vb, [7, 18], device, DType.Float64);
        using var a = aBase.T;                         // [7, 9]
        using var b = bBase.Slice(1, 0, 18, 2);        // [7, 9]
        using var y = c.Op(a, b);
        var expected = Ref.Build([7, 9], ix => c.Reference(Ref.Get(va, [9, 7], ix[1], ix[0]), Ref.Get(vb, [7, 18], ix[0], 2 * ix[1])));
        Reference.AssertClose(y.ToDoubleArray(), expected, 0, 0, c.Name);
    }

    [TestCaseSource(nameof(Comparisons))]
    public void ComparisonsWithTiesAndBroadcasting(BinaryCase c)
    {
        // Small integers so that ties are common.
        var rng = new Random(8);
        var va = Enumerable.Range(0, 5 * 4 * 6).Select(_ => (double)rng.Next(-2, 3)).ToArray();
        var vb = Enumerable.Range(0, 4 * 1).Select(_ => (double)rng.Next(-2, 3)).ToArray();
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int32, DType.Int64 })
        {
            using var a = Ref.Make(va, [5, 4, 6], device, dtype);
            using var b = Ref.Make(vb, [4, 1], device, dtype);
            using var y = c.Op(a, b);
            Assert.That(y.DType, Is.EqualTo(dtype));
            var expected = Broadcast([5, 4, 6], va, [5, 4, 6], vb, [4, 1], c.Reference, false);
            Assert.That(expected.Distinct().Count(), Is.EqualTo(2), "the data exercise both outcomes");
            Reference.AssertClose(y.ToDoubleArray(), expected, 0, 0, $"{c.Name} {dtype}");
        }
    }

    [Test]
    public void ComparisonsWithScalars()
    {
        using var x = Ref.Make([-1, 0, 0.5, 2], [4], device);
        using (var eq = x.Eq(0.5)) Assert.That(eq.ToDoubleArray(), Is.EqualTo(new double[] { 0, 0, 1, 0 }));
        using (var gt = x.Gt(0)) Assert.That(gt.ToDoubleArray(), Is.EqualTo(new double[] { 0, 0, 1, 1 }));
        using (var lt = x.Lt(0)) Assert.That(lt.ToDoubleArray(), Is.EqualTo(new double[] { 1, 0, 0, 0 }));
        using (var ne = x.Ne(0.5)) Assert.That(ne.ToDoubleArray(), Is.EqualTo(new double[] { 1, 1, 0, 1 }));
        using (var le = x.Le(0)) Assert.That(le.ToDoubleArray(), Is.EqualTo(new double[] { 1, 1, 0, 0 }));
        using (var ge = x.Ge(0.5)) Assert.That(ge.ToDoubleArray(), Is.EqualTo(new double[] { 0, 0, 1, 1 }));
    }

    private static IEnumerable<BinaryCase> AllCases() => Arithmetic.Concat(Comparisons);

    [TestCaseSource(nameof(AllCases))]
    public void EmptyOperandsGiveEmptyResults(BinaryCase c)
    {
        foreach (var (sa, sb, expected) in new (int[], int[], int[])[] { ([0, 3], [0, 3], [0, 3]), ([3, 0], [3, 0], [3, 0]), ([0, 3], [1, 3], [0, 3]), ([2, 0, 4], [4], [2, 0, 4]) })
        {
            using var a = Tensor.Zeros(sa, DType.Float32, device);
            using var b = Tensor.Ones(sb, DType.Float32, device);
            using var y = c.Op(a, b);
            Assert.That(y.Shape, Is.EqualTo(expected), $"{c.Name} of {Layout.Format(sa)} and {Layout.Format(sb)}");
            Assert.That(y.ToDoubleArray(), Is.Empty);
        }
    }

    [Test]
    public void NaNInMaximumMinimumAndComparisons()
    {
        using var a = Ref.Make([double.NaN, 1, 2], [3], device);
        using var b = Ref.Make([0, double.NaN, 3], [3], device);
        using (var mx = a.Maximum(b)) Reference.AssertClose(mx.ToDoubleArray(), [double.NaN, double.NaN, 3], 0, 0, "maximum propagates NaN");
        using (var mn = a.Minimum(b)) Reference.AssertClose(mn.ToDoubleArray(), [double.NaN, double.NaN, 2], 0, 0, "minimum propagates NaN");
        using (var eq = a.Eq(a)) Assert.That(eq.ToDoubleArray(), Is.EqualTo(new double[] { 0, 1, 1 }));
        using (var ne = a.Ne(a)) Assert.That(ne.ToDoubleArray(), Is.EqualTo(new double[] { 1, 0, 0 }));
    }

    [Test]
    public void ScalarOperatorsOnBothSides()
    {
        var v = Reference.Values(12, 9).Select(Ref.AwayFromZero).ToArray();
        using var x = Ref.Make(v, [3, 4], device, DType.Float64);
        (string Name, Func<Tensor> Op, Func<double, double> F)[] cases =
        [
            ("x + 2", () => x + 2.0, t => t + 2), ("2 + x", () => 2.0 + x, t => 2 + t),
            ("x - 2", () => x - 2.0, t => t - 2), ("2 - x", () => 2.0 - x, t => 2 - t),
            ("x * 3", () => x * 3.0, t => t * 3), ("3 * x", () => 3.0 * x, t => 3 * t),
            ("x / 4", () => x / 4.0, t => t / 4), ("4 / x", () => 4.0 / x, t => 4 / t),
        ];
        foreach (var (name, op, f) in cases)
        {
            using var y = op();
            Assert.That(y.Shape, Is.EqualTo(new[] { 3, 4 }), name);
            Reference.AssertClose(y.ToDoubleArray(), v.Select(f).ToArray(), 0, 0, name);
        }
    }

    [TestCase(DType.Int32)]
    [TestCase(DType.Int64)]
    public void IntegerArithmetic(DType dtype)
    {
        var rng = new Random(12);
        var va = Enumerable.Range(0, 6 * 5).Select(_ => (double)rng.Next(-50, 51)).ToArray();
        var vb = Enumerable.Range(0, 5).Select(_ => (double)(rng.Next(1, 9) * (rng.Next(2) * 2 - 1))).ToArray();
        using var a = Ref.Make(va, [6, 5], device, dtype);
        using var b = Ref.Make(vb, [5], device, dtype);
        (string Name, Func<Tensor> Op, Func<double, double, double> F)[] cases =
        [
            ("add", () => a + b, (x, y) => x + y), ("sub", () => a - b, (x, y) => x - y),
            ("mul", () => a * b, (x, y) => x * y), ("div", () => a / b, (x, y) => Math.Truncate(x / y)),
            ("maximum", () => a.Maximum(b), Math.Max), ("minimum", () => a.Minimum(b), Math.Min),
            ("add scalar", () => a + 7.0, (x, _) => x + 7), ("scalar sub", () => 7.0 - a, (x, _) => 7 - x),
        ];
        foreach (var (name, op, f) in cases)
        {
            using var y = op();
            Assert.That(y.DType, Is.EqualTo(dtype), name);
            Reference.AssertClose(y.ToDoubleArray(), Broadcast([6, 5], va, [6, 5], vb, [5], f, false), 0, 0, $"{name} {dtype}");
        }
        // Values past 2^31 stay exact in int64.
        if (dtype == DType.Int64)
        {
            using var big = Tensor.FromSpan<long>([3_000_000_000L, -(1L << 40)], [2], device);
            using var sum = big + big;
            Assert.That(sum.ToArray<long>(), Is.EqualTo(new[] { 6_000_000_000L, -(1L << 41) }));
        }
    }

    [Test]
    public void WhereBroadcastsAllThree()
    {
        var vc = new double[] { 1, 0, 1, 1, 0 };
        var va = Reference.Values(4 * 5, 13); var vb = Reference.Values(4, 14);
        using var cond = Ref.Make(vc, [5], device);
        using var a = Ref.Make(va, [4, 5], device, DType.Float64);
        using var bBase = Ref.Make(vb, [1, 4], device, DType.Float64);
        using var b = bBase.T;   // [4, 1]
        using var y = cond.Where(a, b);
        Assert.That(y.Shape, Is.EqualTo(new[] { 4, 5 }));
        var expected = Ref.Build([4, 5], ix => vc[ix[1]] != 0 ? Ref.Get(va, [4, 5], ix) : vb[ix[0]]);
        Reference.AssertClose(y.ToDoubleArray(), expected, 0, 0, "where");
        // An int condition works with float branches.
        using var icond = Ref.Make(vc, [5], device, DType.Int64);
        using var y2 = icond.Where(a, b);
        Reference.AssertClose(y2.ToDoubleArray(), expected, 0, 0, "where with int64 condition");
    }

    [Test]
    public void MaskedFillValues()
    {
        var vx = Reference.Values(3 * 4, 15);
        using var x = Ref.Make(vx, [3, 4], device);
        using var mask = Ref.Make([0, 1, 0, 1], [4], device, DType.Int32);
        using var y = x.MaskedFill(mask, -1e9);
        var expected = Ref.Build([3, 4], ix => ix[1] % 2 == 1 ? (float)-1e9 : (float)Ref.Get(vx, [3, 4], ix));
        Reference.AssertClose(y.ToDoubleArray(), expected, 0, 0, "masked_fill");
    }

    // ---- Gradients ------------------------------------------------------------------------

    [TestCaseSource(nameof(Arithmetic))]
    public void GradientWithBroadcasting(BinaryCase c) =>
        Reference.AssertGradients(x => c.Op(x[0], x[1]), Ref.Leaf([3, 1, 4], device, 1), Ref.Leaf([5, 1], device, 2, Ref.AwayFromZero));

    [TestCaseSource(nameof(Arithmetic))]
    public void GradientSameShapeStrided(BinaryCase c) =>
        Reference.AssertGradients(x => c.Op(x[0].T, x[1]), Ref.Leaf([4, 3], device, 3), Ref.Leaf([3, 4], device, 4, Ref.AwayFromZero));

    [TestCaseSource(nameof(Arithmetic))]
    public void GradientWithScalarTensor(BinaryCase c) =>
        Reference.AssertGradients(x => c.Op(x[1], x[0]), Ref.Leaf([], device, 5, Ref.AwayFromZero), Ref.Leaf([2, 3], device, 6, Ref.AwayFromZero));

    [Test]
    public void MulGradientChecks() =>
        Reference.AssertGradients(x => x[0] * x[1], Ref.Leaf([3, 1, 4], device, 1), Ref.Leaf([5, 1], device, 2));

    [Test]
    public void ScalarOperatorGradients() =>
        Reference.AssertGradients(x => (2.0 - x[0]) * 3.0 + 1.0 / x[0] - x[0] / 4.0 + (5.0 + x[0]) * (x[0] - 1.0), Ref.Leaf([2, 3], device, 7, Ref.AwayFromZero));

    [Test]
    public void MaximumTieSplitsTheGradient()
    {
        using var a = Ref.Make([1, 2, 3], [3], device, DType.Float64);
        using var b = Ref.Make([2, 2, 2], [3], device, DType.Float64);
        a.RequiresGrad = b.RequiresGrad = true;
        using var y = a.Maximum(b);
        using var s = y.Sum();
        s.Backward();
        Assert.That(a.Grad!.ToArray<double>(), Is.EqualTo(new[] { 0, 0.5, 1 }));
        Assert.That(b.Grad!.ToArray<double>(), Is.EqualTo(new[] { 1, 0.5, 0 }));
    }

    [Test]
    public void WhereGradient()
    {
        using var cond = Ref.Make([1, 0, 0, 1], [4], device, DType.Float64);
        Reference.AssertGradients(x => cond.Where(x[0], x[1]), Ref.Leaf([3, 4], device, 8), Ref.Leaf([3, 1], device, 9));
    }

    [Test]
    public void MaskedFillGradient()
    {
        using var mask = Ref.Make([1, 0, 1], [3, 1], device, DType.Int64);
        Reference.AssertGradients(x => x[0].MaskedFill(mask, 2.5) * x[0], Ref.Leaf([3, 2], device, 10));
    }

    [Test]
    public void ComparisonsAreNotRecorded()
    {
        using var a = Ref.Leaf([3], device);
        using var y = a.Gt(0);
        Assert.That(y.RequiresGrad, Is.False);
    }

    [Test]
    public void WhereConditionOfAnotherDTypeTestsNonZero()
    {
        using var a = Ref.Make([1, 2, 3, 4], [4], device, DType.Int32);
        using var b = Ref.Make([-1, -2, -3, -4], [4], device, DType.Int32);
        using var fractional = Ref.Make([0.5, 0, -0.25, double.NaN], [4], device, DType.Float64);
        using (var y = fractional.Where(a, b)) Assert.That(y.ToArray<int>(), Is.EqualTo(new[] { 1, -2, 3, 4 }));
        using var wide = Tensor.FromSpan<long>([1L << 32, 0, -(1L << 33), 7], [4], device);
        using (var y = wide.Where(a, b)) Assert.That(y.ToArray<int>(), Is.EqualTo(new[] { 1, -2, 3, 4 }));
        using var mask = Ref.Make([0, 3, 0, 0], [4], device, DType.Int64);
        using var x = Ref.Make([1, 2, 3, 4], [4], device);
        using (var y = x.MaskedFill(mask, 9)) Assert.That(y.ToArray<float>(), Is.EqualTo(new float[] { 1, 9, 3, 4 }));
    }
}
