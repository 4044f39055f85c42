using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Ops;

[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class ReductionTests(Device device)
{
    /// <summary>Reduces <paramref name="data"/> of <paramref name="shape"/> over <paramref name="axes"/> with f (given the values of one output cell).</summary>
    private static (double[] Values, int[] Shape) Reduce(double[] data, int[] shape, int[] axes, bool keepDim, Func<double[], double> f)
    {
        var norm = axes.Length == 0 ? Enumerable.Range(0, shape.Length).ToArray() : axes.Select(a => a < 0 ? a + shape.Length : a).ToArray();
        var keptShape = shape.Select((s, d) => norm.Contains(d) ? 1 : s).ToArray();
        var groups = new List<double>[Ref.Count(keptShape)];
        for (int i = 0; i < groups.Length; i++) groups[i] = new List<double>();
        for (int i = 0; i < data.Length; i++)
        {
            var ix = Reference.Unravel(i, shape);
            for (int d = 0; d < ix.Length; d++) if (norm.Contains(d)) ix[d] = 0;
            int flat = 0;
            for (int d = 0; d < ix.Length; d++) flat = flat * keptShape[d] + ix[d];
            groups[flat].Add(data[i]);
        }
        var outShape = keepDim ? keptShape : shape.Where((_, d) => !norm.Contains(d)).ToArray();
        return (groups.Select(g => f(g.ToArray())).ToArray(), outShape);
    }

    private static double Var(double[] v, int correction)
    {
        double mean = v.Average();
        return v.Sum(x => (x - mean) * (x - mean)) / (v.Length - correction);
    }

    public sealed record ReduceCase(string Name, Func<Tensor, int[]?, bool, Tensor> Op, Func<double[], double> Reference)
    {
        public override string ToString() => Name;
    }

    public static readonly ReduceCase[] Cases =
    [
        new("sum", (x, a, k) => x.Sum(a, k), v => v.Sum()),
        new("mean", (x, a, k) => x.Mean(a, k), v => v.Average()),
        new("var1", (x, a, k) => x.Var(a, k), v => Var(v, 1)),
        new("var0", (x, a, k) => x.Var(a, k, correction: 0), v => Var(v, 0)),
        new("max", (x, a, k) => x.Max(a, k), v => v.Max()),
        new("min", (x, a, k) => x.Min(a, k), v => v.Min()),
    ];

    public static readonly int[][] AxisSets = [[0], [1], [2], [-1], [-3], [0, 2], [2, 0], [-1, 1], [0, 1, 2], []];

    private static IEnumerable<TestCaseData> CasesWithAxes() =>
        from c in Cases from axes in AxisSets from keep in new[] { false, true }
        select new TestCaseData(c, axes, keep).SetArgDisplayNames(c.Name, "[" + string.Join(",", axes) + "]", keep ? "keepDim" : "drop");

    [TestCaseSource(nameof(CasesWithAxes))]
    public void Float64NonContiguousMatchesReference(ReduceCase c, int[] axes, bool keepDim)
    {
        int[] baseShape = [11, 5, 7];
        var v = Reference.Values(Ref.Count(baseShape), 17);
        using var x0 = Ref.Make(v, baseShape, device, DType.Float64);
        using var x = x0.Permute(1, 2, 0);   // [5, 7, 11], non-contiguous
        var xv = Ref.Build([5, 7, 11], ix => Ref.Get(v, baseShape, ix[2], ix[0], ix[1]));
        using var y = c.Op(x, axes.Length == 0 ? null : axes, keepDim);
        var (expected, shape) = Reduce(xv, [5, 7, 11], axes, keepDim, c.Reference);
        Assert.That(y.Shape, Is.EqualTo(shape));
        Reference.AssertClose(y.ToDoubleArray(), expected, 1e-13, 1e-12, c.Name);
    }

    [TestCaseSource(nameof(Cases))]
    public void Float32AwkwardShape(ReduceCase c)
    {
        int[] shape = Ref.AwkwardShape(device);
        var v = Ref.AsFloat(Reference.Values(Ref.Count(shape), 18));
        using var x = Ref.Make(v, shape, device);
        foreach (var axes in new[] { new[] { 1 }, new[] { 0, 2 }, new[] { 0 }, new[] { 0, 1 }, Array.Empty<int>() })
        {
            using var y = c.Op(x, axes.Length == 0 ? null : axes, false);
            var (expected, outShape) = Reduce(v, shape, axes, false, c.Reference);
            Assert.That(y.Shape, Is.EqualTo(outShape));
            // float32 accumulation over up to 10^5 terms: allow for rounding relative to the sum of magnitudes.
            int n = Ref.Count(shape) / Math.Max(1, expected.Length);
            Reference.AssertClose(y.ToDoubleArray(), expected, c.Name == "sum" ? 1e-6 * n : 1e-6, 1e-5, $"{c.Name} over [{string.Join(",", axes)}]");
        }
    }

    [Test]
    public void Float64LeadingAxesOfAContiguousTensor()
    {
        // Sum and mean over the leading axes of a contiguous tensor (a bias gradient) run as the
        // backend's column reduction rather than as row reductions.
        int[] shape = [6, 5, 7];
        var v = Reference.Values(Ref.Count(shape), 19);
        using var x = Ref.Make(v, shape, device, DType.Float64);
        foreach (var c in Cases.Where(c => c.Name is "sum" or "mean"))
            foreach (var axes in new[] { new[] { 0 }, new[] { 0, 1 }, new[] { -2, -3 } })
                foreach (bool keepDim in new[] { false, true })
                {
                    using var y = c.Op(x, axes, keepDim);
                    var (expected, outShape) = Reduce(v, shape, axes, keepDim, c.Reference);
                    Assert.That(y.Shape, Is.EqualTo(outShape));
                    Reference.AssertClose(y.ToDoubleArray(), expected, 1e-13, 1e-12, $"{c.Name} over [{string.Join(",", axes)}]");
                }
    }

    [Test]
    public void IntegerSumMaxMin()
    {
        using var x = Ref.Make([1, -5, 3, 4, 10, -2], [2, 3], device, DType.Int64);
        using (var s = x.Sum(1)) Assert.That(s.ToArray<long>(), Is.EqualTo(new long[] { -1, 12 }));
        using (var m = x.Max(0)) Assert.That(m.ToArray<long>(), Is.EqualTo(new long[] { 4, 10, 3 }));
        using (var s0 = x.Sum(0)) Assert.That(s0.ToArray<long>(), Is.EqualTo(new long[] { 5, 5, 1 }));
        using (var n = x.Min()) Assert.That(n.ToArray<long>(), Is.EqualTo(new long[] { -5 }));
        using var i = Ref.Make([1, 2, 3], [3], device, DType.Int32);
        using var si = i.Sum();
        Assert.That(si.DType, Is.EqualTo(DType.Int32));
        Assert.That(si.Item(), Is.EqualTo(6));
    }

    [Test]
    public void ReduceAllGivesScalar()
    {
        using var x = Ref.Make([1, 2, 3, 4], [2, 2], device);
        using var s = x.Sum();
        Assert.That(s.Rank, Is.Zero);
        Assert.That(s.Item(), Is.EqualTo(10));
        using var k = x.Mean(null, keepDim: true);
        Assert.That(k.Shape, Is.EqualTo(new[] { 1, 1 }));
        Assert.That(k.Item(), Is.EqualTo(2.5));
    }

    [Test]
    public void SumOfEmptyIsZeroAndMaxOfEmptyThrows()
    {
        using var x = Tensor.Zeros([3, 0], device: device);
        using var s = x.Sum(1);
        Assert.That(s.ToDoubleArray(), Is.EqualTo(new double[3]));
        Ref.Throws<ArgumentException>(() => x.Max(1), "max", "[3, 0]");
        Ref.Throws<ArgumentException>(() => x.ArgMax(1), "argmax", "[3, 0]");
    }

    [Test]
    public void RepeatedAxisThrows()
    {
        using var x = Tensor.Zeros([3, 4], device: device);
        Ref.Throws<ArgumentException>(() => x.Sum([1, -1]), "sum", "repeat");
    }

    // ---- ArgMax / ArgMin ----------------------------------------------------------------------

    private static long ArgRef(double[] v, bool max)
    {
        long best = 0;
        for (int i = 1; i < v.Length; i++)
            if (max ? v[i] > v[best] : v[i] < v[best]) best = i;   // strict: first index on ties
        return best;
    }

    [TestCase(true)]
    [TestCase(false)]
    public void ArgMaxArgMinFlattened(bool max)
    {
        // Ties everywhere: the first index wins.
        var rng = new Random(19);
        var v = Enumerable.Range(0, 7 * 9).Select(_ => (double)rng.Next(0, 4)).ToArray();
        using var x0 = Ref.Make(v, [9, 7], device);
        using var x = x0.T;   // [7, 9] non-contiguous: flattened order is the view's row-major order
        var xv = Ref.Build([7, 9], ix => Ref.Get(v, [9, 7], ix[1], ix[0]));
        using var y = max ? x.ArgMax() : x.ArgMin();
        Assert.That(y.DType, Is.EqualTo(DType.Int64));
        Assert.That(y.Rank, Is.Zero);
        Assert.That(y.ToArray<long>()[0], Is.EqualTo(ArgRef(xv, max)));
    }

    [TestCase(true, 0)]
    [TestCase(true, 1)]
    [TestCase(true, -1)]
    [TestCase(false, 0)]
    [TestCase(false, 2)]
    [TestCase(false, -2)]
    public void ArgMaxArgMinPerAxis(bool max, int axis)
    {
        int[] shape = [6, 5, 7];
        var rng = new Random(20 + axis);
        var v = Enumerable.Range(0, Ref.Count(shape)).Select(_ => (double)rng.Next(0, 5)).ToArray();
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int32, DType.Int64 })
        {
            using var x = Ref.Make(v, shape, device, dtype);
            using var y = max ? x.ArgMax(axis) : x.ArgMin(axis);
            using var yk = max ? x.ArgMax(axis, keepDim: true) : x.ArgMin(axis, keepDim: true);
            var (expected, outShape) = Reduce(v, shape, [axis], false, g => ArgRef(g, max));
            Assert.That(y.DType, Is.EqualTo(DType.Int64));
            Assert.That(y.Shape, Is.EqualTo(outShape));
            Assert.That(y.ToArray<long>().Select(l => (double)l), Is.EqualTo(expected), $"{dtype}");
            var keptShape = shape.Select((s, d) => d == (axis + 3) % 3 ? 1 : s).ToArray();
            Assert.That(yk.Shape, Is.EqualTo(keptShape));
        }
    }

    [Test]
    public void ArgMaxOnAwkwardShape()
    {
        int[] shape = Ref.AwkwardShape(device);
        var v = Ref.AsFloat(Reference.Values(Ref.Count(shape), 21));
        using var x = Ref.Make(v, shape, device);
        using var y = x.ArgMax(1);
        var (expected, _) = Reduce(v, shape, [1], false, g => ArgRef(g, true));
        Assert.That(y.ToArray<long>().Select(l => (double)l), Is.EqualTo(expected));
    }

    // ---- Row shapes around the GPU work-group size ----------------------------------------------

    private static readonly int[][] RowShapes = [[3, 1000], [2, 257], [5000, 3], [300, 20], [2211, 45], [4, 33], [1, 1]];

    /// <summary>The CPU kernel's integer semantics: wrapping sums, truncating division, two-pass variance.</summary>
    private static long IntReduce(ReduceOp op, long[] v, int correction)
    {
        long sum = v.Sum();
        long mean = v.Length == 0 ? 0 : sum / v.Length;
        return op switch
        {
            ReduceOp.Sum => sum,
            ReduceOp.Mean => mean,
            ReduceOp.Max => v.Max(),
            ReduceOp.Min => v.Min(),
            _ => v.Sum(x => (x - mean) * (x - mean)) / (v.Length - correction),
        };
    }

    private static IEnumerable<TestCaseData> RowShapeCases() =>
        from shape in RowShapes
        from dtype in new[] { DType.Float32, DType.Float64, DType.Int32, DType.Int64 }
        select new TestCaseData(shape, dtype).SetArgDisplayNames($"{shape[0]}x{shape[1]}", dtype.ToString());

    [TestCaseSource(nameof(RowShapeCases))]
    public void RowReductionsOnLongAndShortRows(int[] shape, DType dtype)
    {
        int rows = shape[0], cols = shape[1];
        var rng = new Random(rows * 31 + cols);
        bool isInt = dtype is DType.Int32 or DType.Int64;
        var v = isInt
            ? Enumerable.Range(0, rows * cols).Select(_ => (double)rng.Next(-50, 50)).ToArray()
            : Reference.Values(rows * cols, rows + cols).Select(u => 3 * u + 1).ToArray();
        if (dtype == DType.Float32) v = Ref.AsFloat(v);
        using var x = Ref.Make(v, shape, device, dtype);
        double[] Row(int r) => v.Skip(r * cols).Take(cols).ToArray();
        var ops = new (string Name, ReduceOp Op, Func<Tensor> Run, int Correction)[]
        {
            ("sum", ReduceOp.Sum, () => x.Sum(1), 0),
            ("mean", ReduceOp.Mean, () => x.Mean(1), 0),
            ("var0", ReduceOp.Var, () => x.Var([1], correction: 0), 0),
            ("var1", ReduceOp.Var, () => x.Var([1]), 1),
            ("max", ReduceOp.Max, () => x.Max(1), 0),
            ("min", ReduceOp.Min, () => x.Min(1), 0),
        };
        foreach (var (name, op, run, correction) in ops)
        {
            if (isInt && op == ReduceOp.Var && cols == correction) continue;   // integer 0 / 0 throws
            using var y = run();
            Assert.That(y.Shape, Is.EqualTo(new[] { rows }), name);
            var expected = Enumerable.Range(0, rows).Select(r => isInt
                ? IntReduce(op, Row(r).Select(d => (long)d).ToArray(), correction)
                : Cases.Single(c => c.Name == name).Reference(Row(r))).ToArray();
            double tol = dtype == DType.Float32 ? 1e-5 : 1e-12;
            if (isInt) Assert.That(y.ToDoubleArray(), Is.EqualTo(expected), $"{name} {dtype}");
            else Reference.AssertClose(y.ToDoubleArray(), expected, tol * Math.Max(1, op == ReduceOp.Sum ? cols : 1), tol, $"{name} {dtype}");
        }
        // Ties are common among few distinct values: the first index must win.
        var t = Enumerable.Range(0, rows * cols).Select(_ => (double)rng.Next(0, 3)).ToArray();
        using var xt = Ref.Make(t, shape, device, dtype);
        foreach (bool max in new[] { true, false })
        {
            using var a = max ? xt.ArgMax(1) : xt.ArgMin(1);
            var expected = Enumerable.Range(0, rows).Select(r => (double)ArgRef(t.Skip(r * cols).Take(cols).ToArray(), max)).ToArray();
            Assert.That(a.ToArray<long>().Select(l => (double)l), Is.EqualTo(expected), $"{(max ? "argmax" : "argmin")} {dtype}");
        }
    }

    [TestCase(5)]
    [TestCase(1000)]
    public void NaNWinsAndPositiveZeroIsTheLargerZero(int cols)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            // Row 0: a NaN late in the row (after another extreme); row 1: only zeros of both signs,
            // -0 first; row 2: +0 first; row 3: two NaNs.
            var v = new double[4 * cols];
            for (int c = 0; c < cols; c++)
            {
                v[c] = c == 1 ? 9 : c * 0.001;
                v[cols + c] = c % 2 == 0 ? -0.0 : 0.0;
                v[2 * cols + c] = c % 2 == 0 ? 0.0 : -0.0;
                v[3 * cols + c] = 1;
            }
            v[cols - 2] = double.NaN;
            v[3 * cols + cols - 3] = double.NaN;
            v[3 * cols + cols - 1] = double.NaN;
            using var x = Ref.Make(v, [4, cols], device, dtype);
            using var max = x.Max(1);
            using var min = x.Min(1);
            using var argMax = x.ArgMax(1);
            using var argMin = x.ArgMin(1);
            var mx = max.ToDoubleArray();
            var mn = min.ToDoubleArray();
            Assert.That(double.IsNaN(mx[0]) && double.IsNaN(mn[0]) && double.IsNaN(mx[3]) && double.IsNaN(mn[3]), $"NaN wins ({dtype})");
            Assert.That(double.IsNegative(mx[1]) || double.IsNegative(mx[2]), Is.False, $"max of ±0 is +0 ({dtype})");
            Assert.That(double.IsNegative(mn[1]) && double.IsNegative(mn[2]), Is.True, $"min of ±0 is -0 ({dtype})");
            Assert.That(argMax.ToArray<long>(), Is.EqualTo(new long[] { cols - 2, 1, 0, cols - 3 }), $"argmax: the first NaN, the first +0 ({dtype})");
            Assert.That(argMin.ToArray<long>(), Is.EqualTo(new long[] { cols - 2, 0, 1, cols - 3 }), $"argmin: the first NaN, the first -0 ({dtype})");
        }
    }

    [Test]
    public void IntegerSumsWrapAndIntegerMeanTruncates()
    {
        using var x = Ref.Make([int.MaxValue, 1, 0, -7, 2, 0], [2, 3], device, DType.Int32);
        using (var s = x.Sum(1)) Assert.That(s.ToArray<int>(), Is.EqualTo(new[] { int.MinValue, -5 }));
        using (var m = x.Mean(1)) Assert.That(m.ToArray<int>()[1], Is.EqualTo(-1), "-5 / 3 truncates toward zero");
        using var l = Ref.Make([long.MaxValue, 1], [1, 2], device, DType.Int64);
        using (var s = l.Sum(1)) Assert.That(s.ToArray<long>(), Is.EqualTo(new[] { long.MinValue }));
    }

    [Test]
    public void FloatMeanOfEmptyRowsIsNaN()
    {
        // (Integer 0 / 0 is not tested: .NET throws DivideByZeroException, which the GPU backend
        // reproduces on the host, but this sandbox's CPU does not trap integer division reliably.)
        using var f = Tensor.Zeros([2, 0], DType.Float64, device);
        using var m = f.Mean(1);
        Assert.That(m.ToDoubleArray().All(double.IsNaN), "float mean of nothing is NaN");
        using var s = f.Sum(1);
        Assert.That(s.ToDoubleArray(), Is.EqualTo(new double[2]));
    }

    // ---- Gradients ------------------------------------------------------------------------

    private static IEnumerable<TestCaseData> GradCases() =>
        from c in Cases
        from axes in new[] { new[] { 1 }, new[] { -1, 0 }, Array.Empty<int>() }
        from keep in new[] { false, true }
        select new TestCaseData(c, axes, keep).SetArgDisplayNames(c.Name, "[" + string.Join(",", axes) + "]", keep ? "keepDim" : "drop");

    [TestCaseSource(nameof(GradCases))]
    public void Gradient(ReduceCase c, int[] axes, bool keepDim) =>
        Reference.AssertGradients(x => c.Op(x[0], axes.Length == 0 ? null : axes, keepDim), Ref.Leaf([3, 4, 2], device, 23));

    [TestCaseSource(nameof(Cases))]
    public void GradientOfNonContiguousInput(ReduceCase c) =>
        Reference.AssertGradients(x => c.Op(x[0].Transpose(0, 2), [1], false) * c.Op(x[0], null, false), Ref.Leaf([2, 3, 4], device, 24));

    [Test]
    public void MaxGradientSplitsBetweenTies()
    {
        using var x = Ref.Make([1, 3, 3, 2, 2, 0], [2, 3], device, DType.Float64);
        x.RequiresGrad = true;
        using var y = x.Max(1);
        using var s = y.Sum();
        s.Backward();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 0, 0.5, 0.5, 0.5, 0.5, 0 }));
    }

    [Test]
    public void ReducingAScalarAlongItsOnlyAxis()
    {
        using var s = Tensor.Scalar(3.5, DType.Float64, device);
        using (var a = s.Sum(0)) { Assert.That(a.Rank, Is.Zero); Assert.That(a.Item(), Is.EqualTo(3.5)); }
        using (var b = s.Mean(-1, keepDim: true)) { Assert.That(b.Rank, Is.Zero); Assert.That(b.Item(), Is.EqualTo(3.5)); }
        using (var c = s.Max(0)) Assert.That(c.Item(), Is.EqualTo(3.5));
        using (var d = s.ArgMax(0)) Assert.That(d.Item(), Is.EqualTo(0));
        Ref.Throws<ArgumentOutOfRangeException>(() => s.Sum(1), "sum", "1");
        Reference.AssertGradients(x => x[0].Sum(0) * x[0].Mean(-1), Ref.Leaf([], device, 3));
    }

    [Test]
    public void ReducingAViewWithAnOffset()
    {
        var v = Reference.Values(6 * 4, 25);
        using var x0 = Ref.Make(v, [6, 4], device, DType.Float64);
        using var x = x0.Narrow(0, 2, 3);   // contiguous rows 2..4, non-zero offset
        using var y = x.Sum(1);
        Reference.AssertClose(y.ToDoubleArray(), Enumerable.Range(2, 3).Select(r => v.Skip(r * 4).Take(4).Sum()).ToArray(), 1e-14, 1e-13, "sum of narrowed rows");
        using var m = x.ArgMin();
        Assert.That(m.Item(), Is.EqualTo(Array.IndexOf(v, v.Skip(8).Take(12).Min()) - 8));
    }
}
