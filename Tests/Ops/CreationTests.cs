namespace Tensorium.Tests.Ops;

[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class CreationTests(Device device)
{
    private static readonly DType[] AllDTypes = [DType.Float32, DType.Float64, DType.Int32, DType.Int64];

    [TestCaseSource(nameof(AllDTypes))]
    public void ZerosOnesFullScalar(DType dtype)
    {
        using var z = Tensor.Zeros([2, 0, 3], dtype, device);
        Assert.That(z.Shape, Is.EqualTo(new[] { 2, 0, 3 }));
        Assert.That(z.Count, Is.Zero);
        using var o = Tensor.Ones([3, 1, 2], dtype, device);
        Assert.That(o.DType, Is.EqualTo(dtype));
        Assert.That(o.ToDoubleArray(), Is.EqualTo(Enumerable.Repeat(1.0, 6)));
        using var z2 = Tensor.Zeros([4, 5], dtype, device);
        Assert.That(z2.ToDoubleArray(), Is.EqualTo(new double[20]));
        using var f = Tensor.Full([7], -3, dtype, device);
        Assert.That(f.ToDoubleArray(), Is.EqualTo(Enumerable.Repeat(-3.0, 7)));
        using var s = Tensor.Scalar(5, dtype, device);
        Assert.That(s.Rank, Is.Zero);
        Assert.That(s.Count, Is.EqualTo(1));
        Assert.That(s.Item(), Is.EqualTo(5));
    }

    [Test]
    public void FullKeepsFractionsInFloatTypes()
    {
        using var f = Tensor.Full([2, 2], 0.1, DType.Float32, device);
        Assert.That(f.ToArray<float>(), Is.All.EqualTo(0.1f));
        using var d = Tensor.Full([2, 2], 0.1, DType.Float64, device);
        Assert.That(d.ToArray<double>(), Is.All.EqualTo(0.1));
    }

    [Test]
    public void ArangeFloat()
    {
        using var a = Tensor.Arange(0, 1, 0.1, DType.Float64, device);
        Assert.That(a.Shape, Is.EqualTo(new[] { 10 }));
        Reference.AssertClose(a.ToDoubleArray(), Enumerable.Range(0, 10).Select(i => i * 0.1).ToArray(), 1e-15, 0, "arange");
        using var b = Tensor.Arange(5, DType.Float32, device);
        Assert.That(b.ToArray<float>(), Is.EqualTo(new float[] { 0, 1, 2, 3, 4 }));
        using var c = Tensor.Arange(-1.5, 1, 0.5, DType.Float32, device);
        Assert.That(c.ToArray<float>(), Is.EqualTo(new float[] { -1.5f, -1, -0.5f, 0, 0.5f }));
    }

    [Test]
    public void ArangeIntegerTypes()
    {
        using var a = Tensor.Arange(5, DType.Int64, device);
        Assert.That(a.DType, Is.EqualTo(DType.Int64));
        Assert.That(a.ToArray<long>(), Is.EqualTo(new long[] { 0, 1, 2, 3, 4 }));
        using var b = Tensor.Arange(-2, 5, 2, DType.Int32, device);
        Assert.That(b.ToArray<int>(), Is.EqualTo(new[] { -2, 0, 2, 4 }));
    }

    [Test]
    public void ArangeNegativeStep()
    {
        using var a = Tensor.Arange(10, 0, -3, DType.Int32, device);
        Assert.That(a.ToArray<int>(), Is.EqualTo(new[] { 10, 7, 4, 1 }));
        using var b = Tensor.Arange(1, -1, -0.5, DType.Float32, device);
        Assert.That(b.ToArray<float>(), Is.EqualTo(new float[] { 1, 0.5f, 0, -0.5f }));
    }

    [Test]
    public void ArangeEmpty()
    {
        using var a = Tensor.Arange(3, 3, 1, DType.Float32, device);
        Assert.That(a.Shape, Is.EqualTo(new[] { 0 }));
        using var b = Tensor.Arange(1, 5, -1, DType.Int64, device);
        Assert.That(b.Count, Is.Zero);
        Assert.That(b.ToArray<long>(), Is.Empty);
        Ref.Throws<ArgumentException>(() => Tensor.Arange(0, 1, 0, DType.Float32, device), "arange", "step");
    }

    [Test]
    public void FromArrayOneDimensional()
    {
        using var t = Tensor.FromArray(new float[] { 1.5f, -2, 3 });
        Assert.That(t.Shape, Is.EqualTo(new[] { 3 }));
        Assert.That(t.DType, Is.EqualTo(DType.Float32));
        Assert.That(t.ToArray<float>(), Is.EqualTo(new[] { 1.5f, -2, 3 }));
        using var l = Tensor.FromArray(new long[] { long.MaxValue, -1 });
        Assert.That(l.DType, Is.EqualTo(DType.Int64));
        Assert.That(l.ToArray<long>(), Is.EqualTo(new[] { long.MaxValue, -1 }));
    }

    [Test]
    public void FromArrayShapedAndTwoDimensional()
    {
        using var t = Tensor.FromArray(new double[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        Assert.That(t.Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(t.DType, Is.EqualTo(DType.Float64));
        using var col = t.Narrow(1, 2, 1);
        Assert.That(col.ToArray<double>(), Is.EqualTo(new double[] { 3, 6 }));
        using var m = Tensor.FromArray(new int[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        Assert.That(m.Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(m.DType, Is.EqualTo(DType.Int32));
        Assert.That(m.ToArray<int>(), Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6 }));
        using var fromSpan = Tensor.FromSpan<float>(new float[] { 9, 8 }, [2, 1], device);
        Assert.That(fromSpan.Shape, Is.EqualTo(new[] { 2, 1 }));
        Assert.That(fromSpan.Device, Is.EqualTo(device));
    }

    [Test]
    public void FromArrayCopiesTheData()
    {
        var data = new float[] { 1, 2, 3 };
        using var t = Tensor.FromArray(data);
        data[0] = 100;
        Assert.That(t.ToArray<float>()[0], Is.EqualTo(1));
    }

    [Test]
    public void FromArrayWrongCountThrows()
    {
        Ref.Throws<ArgumentException>(() => Tensor.FromArray(new float[] { 1, 2, 3 }, 2, 2), "from_array", "3", "[2, 2]");
        Ref.Throws<ArgumentException>(() => Tensor.FromArray(new float[] { 1, 2 }, 2, -1), "[2, -1]");
    }

    [TestCaseSource(nameof(AllDTypes))]
    public void FromBytesReadsLittleEndianElements(DType dtype)
    {
        var values = new double[] { 1, -2, 3, 40, -5, 6 };
        byte[] bytes = dtype switch
        {
            DType.Float32 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.Select(v => (float)v).ToArray().AsSpan()).ToArray(),
            DType.Float64 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
            DType.Int32 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.Select(v => (int)v).ToArray().AsSpan()).ToArray(),
            _ => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.Select(v => (long)v).ToArray().AsSpan()).ToArray(),
        };
        using var t = Tensor.FromBytes(bytes, dtype, [2, 3], device);
        Assert.That(t.Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(t.DType, Is.EqualTo(dtype));
        Assert.That(t.Device, Is.EqualTo(device));
        Assert.That(t.ToDoubleArray(), Is.EqualTo(values));
    }

    [Test]
    public void FromBytesWrongLengthThrows()
    {
        Ref.Throws<ArgumentException>(() => Tensor.FromBytes(new byte[10], DType.Float32, [3], device), "from_bytes", "10 bytes", "[3]", "12 bytes");
        Ref.Throws<ArgumentException>(() => Tensor.FromBytes(new byte[8], DType.Float64, [-1], device), "from_bytes", "[-1]");
    }

    [Test]
    public void CreateWritesTheElementsInRowMajorOrder()
    {
        var source = new byte[] { 0, 51, 102, 255, 204, 153 };
        using var t = Tensor.Create<float, byte[]>([2, 1, 3], source, static (destination, bytes) =>
        {
            Assert.That(destination.ToArray(), Is.EqualTo(new float[6]), "the span starts zeroed");
            for (int i = 0; i < bytes.Length; i++) destination[i] = bytes[i] / 255f;
        }, device);
        Assert.That(t.Shape, Is.EqualTo(new[] { 2, 1, 3 }));
        Assert.That(t.Device, Is.EqualTo(device));
        Assert.That(t.ToArray<float>(), Is.EqualTo(source.Select(b => b / 255f).ToArray()));
        Ref.Throws<ArgumentException>(() => Tensor.Create<int, int>([2, -3], 0, static (_, _) => { }, device), "create", "[2, -3]");
    }

    [Test]
    public void ToArrayWrongTypeThrows()
    {
        using var t = Tensor.Zeros([2], DType.Float32, device);
        Ref.Throws<InvalidOperationException>(() => t.ToArray<double>(), "float32", "float64");
    }

    [Test]
    public void CallerShapeArrayIsNotAliased()
    {
        var shape = new[] { 2, 3 };
        using var t = Tensor.Zeros(shape, DType.Float32, device);
        shape[0] = 1000;
        Assert.That(t.Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(t.Count, Is.EqualTo(6));
    }

    // ---- Random -------------------------------------------------------------------------------

    [Test]
    public void SameSeedSameNumbers()
    {
        using var a = Tensor.Uniform([1000], generator: new Generator(42), device: device);
        using var b = Tensor.Uniform([1000], generator: new Generator(42), device: device);
        Assert.That(a.ToArray<float>(), Is.EqualTo(b.ToArray<float>()));
        using var n1 = Tensor.Normal([999], generator: new Generator(7), device: device);
        using var n2 = Tensor.Normal([999], generator: new Generator(7), device: device);
        Assert.That(n1.ToArray<float>(), Is.EqualTo(n2.ToArray<float>()));
        using var b1 = Tensor.Bernoulli([333], 0.5, new Generator(9), device: device);
        using var b2 = Tensor.Bernoulli([333], 0.5, new Generator(9), device: device);
        Assert.That(b1.ToArray<float>(), Is.EqualTo(b2.ToArray<float>()));
    }

    [Test]
    public void DifferentSeedsDiffer()
    {
        using var a = Tensor.Uniform([100], generator: new Generator(1), device: device);
        using var b = Tensor.Uniform([100], generator: new Generator(2), device: device);
        var va = a.ToArray<float>(); var vb = b.ToArray<float>();
        Assert.That(Enumerable.Range(0, 100).Count(i => va[i] != vb[i]), Is.GreaterThan(95));
        using var n1 = Tensor.Normal([100], generator: new Generator(1), device: device);
        using var n2 = Tensor.Normal([100], generator: new Generator(1UL << 40), device: device);
        Assert.That(n1.ToArray<float>(), Is.Not.EqualTo(n2.ToArray<float>()));
    }

    [Test]
    public void Float32AndFloat64AgreeForTheSameSeed()
    {
        using var u32 = Tensor.Uniform([513], -2, 3, new Generator(5), DType.Float32, device);
        using var u64 = Tensor.Uniform([513], -2, 3, new Generator(5), DType.Float64, device);
        Reference.AssertClose(u32.ToDoubleArray(), Ref.AsFloat(u64.ToDoubleArray()), 0, 1e-7, "uniform f32 vs f64");
        using var n32 = Tensor.Normal([513], 1, 2, new Generator(6), DType.Float32, device);
        using var n64 = Tensor.Normal([513], 1, 2, new Generator(6), DType.Float64, device);
        Reference.AssertClose(n32.ToDoubleArray(), n64.ToDoubleArray(), 1e-6, 1e-6, "normal f32 vs f64");
        using var b32 = Tensor.Bernoulli([513], 0.3, new Generator(8), DType.Float32, device);
        using var b64 = Tensor.Bernoulli([513], 0.3, new Generator(8), DType.Float64, device);
        Assert.That(b32.ToDoubleArray(), Is.EqualTo(b64.ToDoubleArray()));
    }

    private static (double Mean, double Std) Moments(double[] v)
    {
        double mean = v.Average();
        return (mean, Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)));
    }

    [Test]
    public void UniformStatistics()
    {
        using var u = Tensor.Uniform([100_000], 2, 5, new Generator(123), DType.Float64, device);
        var v = u.ToDoubleArray();
        Assert.That(v.Min(), Is.GreaterThanOrEqualTo(2));
        Assert.That(v.Max(), Is.LessThan(5));
        var (mean, std) = Moments(v);
        Assert.That(mean, Is.EqualTo(3.5).Within(0.02));
        Assert.That(std, Is.EqualTo(3 / Math.Sqrt(12)).Within(0.01));
        // Ten equal bins each hold about a tenth.
        var bins = v.GroupBy(x => (int)((x - 2) / 0.3)).Select(g => g.Count()).ToArray();
        Assert.That(bins, Has.Length.EqualTo(10));
        Assert.That(bins, Is.All.InRange(9_400, 10_600));
    }

    [Test]
    public void NormalStatistics()
    {
        using var n = Tensor.Normal([100_000], 1, 2, new Generator(321), DType.Float32, device);
        var v = n.ToDoubleArray();
        var (mean, std) = Moments(v);
        Assert.That(mean, Is.EqualTo(1).Within(0.03));
        Assert.That(std, Is.EqualTo(2).Within(0.03));
        // About 68.3% within one sd, 95.4% within two.
        Assert.That(v.Count(x => Math.Abs(x - 1) < 2) / 1e5, Is.EqualTo(0.6827).Within(0.01));
        Assert.That(v.Count(x => Math.Abs(x - 1) < 4) / 1e5, Is.EqualTo(0.9545).Within(0.005));
    }

    [Test]
    public void BernoulliStatistics()
    {
        using var b = Tensor.Bernoulli([100_000], 0.3, new Generator(77), DType.Float32, device);
        var v = b.ToDoubleArray();
        Assert.That(v, Is.All.EqualTo(0).Or.EqualTo(1));
        Assert.That(v.Average(), Is.EqualTo(0.3).Within(0.01));
        using var none = Tensor.Bernoulli([1000], 0, new Generator(1), device: device);
        Assert.That(none.ToDoubleArray(), Is.All.EqualTo(0));
        using var all = Tensor.Bernoulli([1000], 1, new Generator(1), device: device);
        Assert.That(all.ToDoubleArray(), Is.All.EqualTo(1));
        Ref.Throws<ArgumentOutOfRangeException>(() => Tensor.Bernoulli([2], 1.5, new Generator(1), device: device), "bernoulli", "1.5");
    }

    [Test]
    public void GeneratorAdvances()
    {
        var g = new Generator(11);
        Assert.That(g.Offset, Is.Zero);
        using var a = Tensor.Uniform([8], generator: g, device: device);
        Assert.That(g.Offset, Is.EqualTo(8));
        using var b = Tensor.Uniform([8], generator: g, device: device);
        Assert.That(g.Offset, Is.EqualTo(16));
        Assert.That(a.ToArray<float>(), Is.Not.EqualTo(b.ToArray<float>()));
        // Two draws of 8 are the two halves of one draw of 16 (a draw uses the next positions of the stream).
        using var whole = Tensor.Uniform([16], generator: new Generator(11), device: device);
        Assert.That(whole.ToArray<float>(), Is.EqualTo(a.ToArray<float>().Concat(b.ToArray<float>()).ToArray()));
        // Normal uses two words per value.
        var h = new Generator(3);
        using var n1 = Tensor.Normal([4], generator: h, device: device);
        using var n2 = Tensor.Normal([4], generator: h, device: device);
        Assert.That(h.Offset, Is.EqualTo(16));
        using var n = Tensor.Normal([8], generator: new Generator(3), device: device);
        Assert.That(n.ToArray<float>(), Is.EqualTo(n1.ToArray<float>().Concat(n2.ToArray<float>()).ToArray()));
        // Draws that are not multiples of a block never share one.
        var k = new Generator(1);
        using var odd = Tensor.Uniform([5], generator: k, device: device);
        Assert.That(k.Offset, Is.EqualTo(8));
    }

    [Test]
    public void RandomRejectsIntegerDTypes() =>
        Ref.Throws<ArgumentException>(() => Tensor.Uniform([2], generator: new Generator(1), dtype: DType.Int32, device: device), "uniform", "int32");
}
