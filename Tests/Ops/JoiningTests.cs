namespace Tensorium.Tests.Ops;

[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class JoiningTests(Device device)
{
    [Test]
    public void ConcatDim0()
    {
        var va = Reference.Values(2 * 3, 61); var vb = Reference.Values(4 * 3, 62);
        using var a = Ref.Make(va, [2, 3], device, DType.Float64);
        using var b = Ref.Make(vb, [4, 3], device, DType.Float64);
        using var y = Joining.Concat([a, b]);
        Assert.That(y.Shape, Is.EqualTo(new[] { 6, 3 }));
        Assert.That(y.ToDoubleArray(), Is.EqualTo(va.Concat(vb).ToArray()));
    }

    [Test]
    public void ConcatDim1WithNonContiguousInputs()
    {
        var va = Reference.Values(3 * 2 * 4, 63); var vb = Reference.Values(3 * 1 * 4, 64); var vc = Reference.Values(3 * 3 * 4, 65);
        using var a0 = Ref.Make(va, [2, 3, 4], device);
        using var a = a0.Transpose(0, 1);                 // [3, 2, 4]
        using var b = Ref.Make(vb, [3, 1, 4], device);
        using var c0 = Ref.Make(vc, [3, 4, 3], device);
        using var c = c0.Transpose(1, 2);                 // [3, 3, 4]
        using var y = Joining.Concat([a, b, c], dim: 1);
        Assert.That(y.Shape, Is.EqualTo(new[] { 3, 6, 4 }));
        var expected = Ref.Build([3, 6, 4], ix =>
            ix[1] < 2 ? Ref.Get(va, [2, 3, 4], ix[1], ix[0], ix[2]) :
            ix[1] < 3 ? Ref.Get(vb, [3, 1, 4], ix[0], 0, ix[2]) :
            Ref.Get(vc, [3, 4, 3], ix[0], ix[2], ix[1] - 3));
        Reference.AssertClose(y.ToDoubleArray(), Ref.AsFloat(expected), 0, 0, "concat dim 1");
        using var z = Joining.Concat([a, b, c], dim: -2);
        Reference.AssertClose(z.ToDoubleArray(), Ref.AsFloat(expected), 0, 0, "concat dim -2");
    }

    [Test]
    public void ConcatWithEmptyAndIntegers()
    {
        using var a = Ref.Make([1, 2], [2], device, DType.Int64);
        using var e = Tensor.Zeros([0], DType.Int64, device);
        using var b = Ref.Make([3], [1], device, DType.Int64);
        using var y = Joining.Concat([a, e, b]);
        Assert.That(y.ToArray<long>(), Is.EqualTo(new long[] { 1, 2, 3 }));
    }

    [Test]
    public void ConcatErrors()
    {
        using var a = Tensor.Zeros([2, 3], device: device);
        using var b = Tensor.Zeros([2, 4], device: device);
        Ref.Throws<ArgumentException>(() => Joining.Concat([a, b], 0), "concat", "[2, 3]", "[2, 4]");
        using var d = Tensor.Zeros([2, 3], DType.Float64, device);
        Ref.Throws<ArgumentException>(() => Joining.Concat([a, d], 0), "concat", "float32", "float64");
        Ref.Throws<ArgumentException>(() => Joining.Concat([], 0), "concat");
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(-1)]
    public void StackAlongNewDim(int dim)
    {
        var vs = Enumerable.Range(0, 3).Select(i => Reference.Values(2 * 4, 66 + i)).ToArray();
        var ts = vs.Select(v => Ref.Make(v, [2, 4], device, DType.Float64)).ToArray();
        try
        {
            using var y = Joining.Stack(ts, dim);
            int d = (dim + 3) % 3;
            var shape = new List<int> { 2, 4 };
            shape.Insert(d, 3);
            Assert.That(y.Shape, Is.EqualTo(shape.ToArray()));
            var expected = Ref.Build(shape.ToArray(), ix =>
            {
                var rest = ix.Where((_, k) => k != d).ToArray();
                return Ref.Get(vs[ix[d]], [2, 4], rest);
            });
            Reference.AssertClose(y.ToDoubleArray(), expected, 0, 0, $"stack dim {dim}");
        }
        finally { foreach (var t in ts) t.Dispose(); }
    }

    [Test]
    public void StackShapeMismatchThrows()
    {
        using var a = Tensor.Zeros([2, 3], device: device);
        using var b = Tensor.Zeros([3, 2], device: device);
        Ref.Throws<ArgumentException>(() => Joining.Stack([a, b]), "stack", "[2, 3]", "[3, 2]");
    }

    [Test]
    public void SplitGivesViews()
    {
        var v = Reference.Values(7 * 3, 70);
        using var x = Ref.Make(v, [7, 3], device, DType.Float64);
        var parts = x.Split(3);
        try
        {
            Assert.That(parts.Select(p => p.Shape[0]), Is.EqualTo(new[] { 3, 3, 1 }));
            for (int i = 0; i < 3; i++)
                Assert.That(parts[i].ToDoubleArray(), Is.EqualTo(v.Skip(i * 9).Take(parts[i].Count).ToArray()), $"part {i}");
            using (var zero = Tensor.Zeros([1], DType.Float64, device)) parts[1].CopyFrom(zero);
            Assert.That(x.ToDoubleArray().Skip(9).Take(9), Is.All.EqualTo(0), "parts are views");
        }
        finally { foreach (var p in parts) p.Dispose(); }
        var cols = x.Split(2, dim: -1);
        try
        {
            Assert.That(cols.Select(p => p.Shape[1]), Is.EqualTo(new[] { 2, 1 }));
            Assert.That(cols[1].ToDoubleArray(), Is.EqualTo(Enumerable.Range(0, 7).Select(r => r is >= 3 and < 6 ? 0 : v[r * 3 + 2])));
        }
        finally { foreach (var p in cols) p.Dispose(); }
        Ref.Throws<ArgumentException>(() => x.Split(0), "split", "0");
    }

    // ---- Gradients ------------------------------------------------------------------------

    [Test]
    public void ConcatGradient()
    {
        Reference.AssertGradients(x => Joining.Concat([x[0], x[1]], 0), Ref.Leaf([2, 3], device, 1), Ref.Leaf([1, 3], device, 2));
        Reference.AssertGradients(x => Joining.Concat([x[0], x[1].T, x[0]], 1), Ref.Leaf([2, 3], device, 3), Ref.Leaf([2, 2], device, 4));
    }

    [Test]
    public void StackGradient()
    {
        Reference.AssertGradients(x => Joining.Stack([x[0], x[1]], 0), Ref.Leaf([2, 3], device, 5), Ref.Leaf([2, 3], device, 6));
        Reference.AssertGradients(x => Joining.Stack([x[0], x[1], x[0]], -1), Ref.Leaf([2, 3], device, 7), Ref.Leaf([2, 3], device, 8));
    }

    [Test]
    public void SplitGradient() =>
        Reference.AssertGradients(x =>
        {
            var parts = x[0].Split(2, 1);
            return parts[0] * parts[1] + parts[1];
        }, Ref.Leaf([3, 4], device, 9));
}
