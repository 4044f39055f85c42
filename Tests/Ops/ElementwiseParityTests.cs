using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Ops;

/// <summary>
/// Every unary and binary op and where, run through the device's backend on rank-5 strided and
/// broadcast operands (sizes that are not multiples of a work-group), against the CPU backend on
/// the same data: exact where the CPU is exact, within a few float ulps for transcendental math.
/// Also the integer edge cases the CPU defines: wrap-around, division errors, saturating pow.
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class ElementwiseParityTests(Device device)
{
    private static readonly int[] BaseShape = [3, 4, 5, 6, 7];   // 2520 elements
    private static readonly int[] Order = [4, 2, 0, 3, 1];        // permuted view: [7, 5, 3, 6, 4]

    private static Tensor Make(double[] values, int[] shape, DType dtype, Device d) => Ref.Make(values, shape, d, dtype);

    /// <summary>A view of <paramref name="t"/> broadcast (stride 0) to <paramref name="shape"/>, without autograd.</summary>
    private static Tensor Expanded(Tensor t, int[] shape) => t.View(t.Layout.Expand(shape), "test");

    private static Tensor Output(int[] shape, DType dtype, Device d) => Tensor.Empty(shape, dtype, d);

    private static void AssertClose(double[] actual, double[] expected, double rel, double abs, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < actual.Length; i++)
        {
            double x = actual[i], e = expected[i];
            bool same = double.IsNaN(e) ? double.IsNaN(x)
                : double.IsInfinity(e) || rel == 0 && abs == 0 ? x.Equals(e)
                : Math.Abs(x - e) <= rel * Math.Abs(e) + abs;
            if (!same) Assert.Fail($"{what}: element {i} is {x:R}, expected {e:R}.");
        }
    }

    private static double Domain(UnaryOp op, double u) => op switch
    {
        UnaryOp.Log or UnaryOp.Sqrt or UnaryOp.Rsqrt or UnaryOp.Pow => (u + 1.002) * 5,
        UnaryOp.Exp => u * 20,
        _ => u * 6,
    };

    [Test]
    public void UnaryOpsOnAStridedRank5View([Values(DType.Float32, DType.Float64)] DType dtype)
    {
        foreach (var op in Enum.GetValues<UnaryOp>())
        {
            var v = Reference.Values(Ref.Count(BaseShape), 31).Select(u => Domain(op, u)).ToArray();
            double p0 = op == UnaryOp.Clamp ? -1.25 : 2.5, p1 = 0.75;
            using var xDev = Make(v, BaseShape, dtype, device);
            using var view = xDev.Permute(Order);
            Assert.That(view.Layout.IsContiguous, Is.False);
            using var x32 = Make(v, BaseShape, dtype, Device.Cpu);
            using var cpuView = x32.Permute(Order);
            using var yCpu = Output(view.Shape, dtype, Device.Cpu);
            using var yDev = Output(view.Shape, dtype, device);
            yCpu.Backend("test").Unary(op, cpuView, yCpu, p0, p1);
            yDev.Backend("test").Unary(op, view, yDev, p0, p1);
            double rel = dtype == DType.Float32 ? 1e-6 : 1e-14;
            AssertClose(yDev.ToDoubleArray(), yCpu.ToDoubleArray(), rel, dtype == DType.Float32 ? 1e-7 : 1e-15, $"{op} {dtype} on {device}");
        }
    }

    [Test]
    public void UnarySpecialValues([Values(DType.Float32, DType.Float64)] DType dtype)
    {
        double[] v = [0, -0.0, 1, -1, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1e-30, -1e-30, 40, -40, 1000, -1000];
        foreach (var op in Enum.GetValues<UnaryOp>())
        {
            using var xCpu = Make(v, [v.Length], dtype, Device.Cpu);
            using var xDev = Make(v, [v.Length], dtype, device);
            using var yCpu = Output([v.Length], dtype, Device.Cpu);
            using var yDev = Output([v.Length], dtype, device);
            yCpu.Backend("test").Unary(op, xCpu, yCpu, 2, 3);
            yDev.Backend("test").Unary(op, xDev, yDev, 2, 3);
            // NaN and infinities exactly; finite values as above (the CPU's float tanh(0) is -6e-8, not 0).
            AssertClose(yDev.ToDoubleArray(), yCpu.ToDoubleArray(), dtype == DType.Float32 ? 1e-6 : 1e-14, dtype == DType.Float32 ? 1e-7 : 1e-15, $"{op} {dtype} special values on {device}");
        }
    }

    [Test]
    public void UnaryRejectsIntegers([Values(DType.Int32, DType.Int64)] DType dtype)
    {
        using var x = Tensor.Zeros([3], dtype, device);
        using var y = Output([3], dtype, device);
        Ref.Throws<NotSupportedException>(() => y.Backend("test").Unary(UnaryOp.Exp, x, y, 0, 0), "exp", dtype.Name());
    }

    /// <summary>Operand values for a binary op: small numbers (ties, exact products), none 0 for Div.</summary>
    private static (double[] A, double[] B) BinaryValues(BinaryOp op, DType dtype, int na, int nb)
    {
        var rng = new Random(40 + (int)op);
        bool integer = !dtype.IsFloating();
        double Next(bool nonZero)
        {
            if (op == BinaryOp.Pow) return rng.Next(-3, 4);
            double x = integer ? rng.Next(-9, 10) : Math.Round(rng.NextDouble() * 8 - 4, 2);
            return nonZero && x == 0 ? 3 : x;
        }
        // Div runs both ways round (a / b and b / a): neither operand holds a zero.
        return (Enumerable.Range(0, na).Select(_ => Next(op == BinaryOp.Div)).ToArray(), Enumerable.Range(0, nb).Select(_ => Next(op == BinaryOp.Div)).ToArray());
    }

    [Test]
    public void BinaryOpsOnBroadcastRank5Views([Values(DType.Float32, DType.Float64, DType.Int32, DType.Int64)] DType dtype)
    {
        int[] shape = [7, 5, 3, 6, 4];
        int[] bShape = [5, 1, 6, 1];   // broadcast on dims 0, 2, 4
        foreach (var op in Enum.GetValues<BinaryOp>())
        {
            var (va, vb) = BinaryValues(op, dtype, Ref.Count(BaseShape), Ref.Count(bShape));
            double[] Run(Device d)
            {
                using var aBase = Make(va, BaseShape, dtype, d);
                using var aView = aBase.Permute(Order);                 // strided, [7, 5, 3, 6, 4]
                using var bBase = Make(vb, bShape, dtype, d);
                using var a = Expanded(aView, shape);
                using var b = Expanded(bBase, shape);
                using var y = Output(shape, dtype, d);
                y.Backend("test").Binary(op, a, b, y);
                // Swapped: the broadcast operand first.
                using var z = Output(shape, dtype, d);
                z.Backend("test").Binary(op, b, a, z);
                return [.. y.ToDoubleArray(), .. z.ToDoubleArray()];
            }
            double rel = op != BinaryOp.Pow ? 0 : dtype == DType.Float64 ? 1e-15 : dtype == DType.Float32 ? 1.2e-7 : 0;
            AssertClose(Run(device), Run(Device.Cpu), rel, 0, $"{op} {dtype} on {device}");
        }
    }

    [Test]
    public void BinaryNaNAndSignedZeros([Values(DType.Float32, DType.Float64)] DType dtype)
    {
        double[] va = [double.NaN, 1, 0, -0.0, double.PositiveInfinity, 2, -0.0, 0];
        double[] vb = [0, double.NaN, -0.0, 0, double.PositiveInfinity, 2, -0.0, 0];
        foreach (var op in Enum.GetValues<BinaryOp>())
        {
            double[] Run(Device d)
            {
                using var a = Make(va, [va.Length], dtype, d);
                using var b = Make(vb, [vb.Length], dtype, d);
                using var y = Output([va.Length], dtype, d);
                y.Backend("test").Binary(op, a, b, y);
                return y.ToDoubleArray();
            }
            var dev = Run(device);
            var cpu = Run(Device.Cpu);
            AssertClose(dev, cpu, 0, 0, $"{op} {dtype} on {device}");
            if (op is BinaryOp.Maximum or BinaryOp.Minimum)
                Assert.That(dev.Select(x => double.IsNegative(x)), Is.EqualTo(cpu.Select(x => double.IsNegative(x))), $"{op} sign of zero on {device}");
        }
    }

    [Test]
    public void IntegerArithmeticWrapsAround()
    {
        using var i32 = Tensor.FromSpan<int>([int.MaxValue, int.MinValue, 65536], [3], device);
        using (var s = i32 + i32) Assert.That(s.ToArray<int>(), Is.EqualTo(new[] { unchecked(int.MaxValue * 2), 0, 131072 }));
        using (var p = i32 * i32) Assert.That(p.ToArray<int>(), Is.EqualTo(new[] { 1, 0, 0 }));
        using var i64 = Tensor.FromSpan<long>([long.MaxValue, long.MinValue, 1L << 32], [3], device);
        using (var s = i64 + i64) Assert.That(s.ToArray<long>(), Is.EqualTo(new[] { -2L, 0, 1L << 33 }));
        using (var p = i64 * i64) Assert.That(p.ToArray<long>(), Is.EqualTo(new[] { 1L, 0, 0 }));
        using (var d = i64 - 1.0) Assert.That(d.ToArray<long>(), Is.EqualTo(new[] { long.MaxValue - 1, long.MaxValue, (1L << 32) - 1 }));
    }

    [Test]
    public void IntegerDivisionErrorsThrowAsOnTheCpu([Values(DType.Int32, DType.Int64)] DType dtype)
    {
        using var a = Make([7, -7, 0, 5], [4], dtype, device);
        using var zero = Make([2, 2, 0, 1], [4], dtype, device);
        Ref.Throws<DivideByZeroException>(() => (a / zero).Dispose(), "div");
        using var m = dtype == DType.Int32 ? Tensor.FromSpan<int>([int.MinValue, 6], [2], device) : Tensor.FromSpan<long>([long.MinValue, 6], [2], device);
        using var minusOne = Make([-1, -1], [2], dtype, device);
        Ref.Throws<OverflowException>(() => (m / minusOne).Dispose());
        // The error state does not stick: the next division works and truncates toward zero.
        using var b = Make([2, 2, 3, -2], [4], dtype, device);
        using var q = a / b;
        Assert.That(q.ToDoubleArray(), Is.EqualTo(new double[] { 3, -3, 0, -2 }));
    }

    [Test]
    public void IntegerPowTruncatesAndSaturatesAsOnTheCpu([Values(DType.Int32, DType.Int64)] DType dtype)
    {
        double[] va = [2, -2, 0, 3, -3, 10, 10, -10, 1, 7];
        double[] vb = [-1, -1, -1, 3, 3, 30, 19, 19, 1000, 0];
        double[] Run(Device d)
        {
            using var a = Make(va, [va.Length], dtype, d);
            using var b = Make(vb, [vb.Length], dtype, d);
            using var y = Output([va.Length], dtype, d);
            y.Backend("test").Binary(BinaryOp.Pow, a, b, y);
            return y.ToDoubleArray();
        }
        AssertClose(Run(device), Run(Device.Cpu), 0, 0, $"pow {dtype} on {device}");
    }

    [Test]
    public void WhereOnBroadcastRank5Views([Values(DType.Float32, DType.Float64, DType.Int32, DType.Int64)] DType dtype)
    {
        int[] shape = [7, 5, 3, 6, 4];
        var rng = new Random(5);
        var vc = Enumerable.Range(0, 5 * 6).Select(_ => (double)rng.Next(-1, 2)).ToArray();
        if (dtype.IsFloating()) vc[3] = double.NaN;   // NaN != 0 picks a
        var va = Reference.Values(Ref.Count(BaseShape), 6);
        var vb = Reference.Values(7 * 4, 7);
        double[] Run(Device d)
        {
            using var cBase = Make(vc, [5, 1, 6, 1], dtype, d);
            using var aBase = Make(va, BaseShape, dtype, d);
            using var aView = aBase.Permute(Order);
            using var bBase = Make(vb, [4, 7], dtype, d);
            using var bT = bBase.T;   // [7, 4], strided
            using var bView = bT.View(new Layout([7, 1, 1, 1, 4], [1, 0, 0, 0, 7], 0).Expand(shape), "test");
            using var c = Expanded(cBase, shape);
            using var a = Expanded(aView, shape);
            using var y = Output(shape, dtype, d);
            y.Backend("test").Where(c, a, bView, y);
            return y.ToDoubleArray();
        }
        AssertClose(Run(device), Run(Device.Cpu), 0, 0, $"where {dtype} on {device}");
    }
}
