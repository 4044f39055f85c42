namespace Tensorium.Tests.Ops;

[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class IndexingTests(Device device)
{
    private static double[] Indices(int count, int size, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (double)rng.Next(size)).ToArray();
    }

    [TestCase(0, DType.Int64)]
    [TestCase(1, DType.Int64)]
    [TestCase(-1, DType.Int32)]
    public void GatherMatchesReference(int dim, DType indexType)
    {
        int[] shape = [4, 5, 6];
        int d = (dim + 3) % 3;
        var ishape = (int[])shape.Clone();
        ishape[d] = 3;
        var vx = Reference.Values(Ref.Count(shape), 41);
        var vi = Indices(Ref.Count(ishape), shape[d], 42);
        using var x = Ref.Make(vx, shape, device, DType.Float64);
        using var index = Ref.Make(vi, ishape, device, indexType);
        using var y = x.Gather(dim, index);
        Assert.That(y.Shape, Is.EqualTo(ishape));
        var expected = Ref.Build(ishape, ix =>
        {
            var src = (int[])ix.Clone();
            src[d] = (int)Ref.Get(vi, ishape, ix);
            return Ref.Get(vx, shape, src);
        });
        Reference.AssertClose(y.ToDoubleArray(), expected, 0, 0, "gather");
    }

    [Test]
    public void GatherOfNonContiguousInputAndIndex()
    {
        var vx = Reference.Values(6 * 4, 43);
        using var x0 = Ref.Make(vx, [6, 4], device);
        using var x = x0.T;                                        // [4, 6]
        var vi = Indices(2 * 4, 6, 44);
        using var i0 = Ref.Make(vi, [2, 4], device, DType.Int64);
        using var index = i0.T;                                    // [4, 2]
        using var y = x.Gather(1, index);
        var expected = Ref.Build([4, 2], ix => Ref.AsFloat([Ref.Get(vx, [6, 4], (int)Ref.Get(vi, [2, 4], ix[1], ix[0]), ix[0])])[0]);
        Reference.AssertClose(y.ToDoubleArray(), expected, 0, 0, "gather strided");
    }

    [TestCase(1, DType.Int64)]
    [TestCase(0, DType.Int32)]
    public void ScatterAddAccumulatesDuplicates(int dim, DType indexType)
    {
        int[] shape = [4, 5, 6];
        var ishape = (int[])shape.Clone();
        ishape[dim] = 7;   // more entries than the axis: duplicates guaranteed
        var vx = Reference.Values(Ref.Count(shape), 45);
        var vs = Reference.Values(Ref.Count(ishape), 46);
        var vi = Indices(Ref.Count(ishape), shape[dim], 47);
        using var x = Ref.Make(vx, shape, device, DType.Float64);
        using var src = Ref.Make(vs, ishape, device, DType.Float64);
        using var index = Ref.Make(vi, ishape, device, indexType);
        using var y = x.ScatterAdd(dim, index, src);
        var expected = (double[])vx.Clone();
        for (int f = 0; f < vs.Length; f++)
        {
            var ix = Reference.Unravel(f, ishape);
            ix[dim] = (int)vi[f];
            int flat = 0;
            for (int k = 0; k < 3; k++) flat = flat * shape[k] + ix[k];
            expected[flat] += vs[f];
        }
        Reference.AssertClose(y.ToDoubleArray(), expected, 1e-15, 1e-14, "scatter_add");
        Assert.That(x.ToDoubleArray(), Is.EqualTo(vx), "out of place: the input is unchanged");
    }

    [TestCase(DType.Int64)]
    [TestCase(DType.Int32)]
    public void IndexSelectWithDuplicates(DType indexType)
    {
        int[] shape = [5, 6, 3];
        var vx = Reference.Values(Ref.Count(shape), 48);
        double[] vi = [4, 0, 4, 2, 1];
        using var x0 = Ref.Make(vx, shape, device);
        using var x = x0.Transpose(0, 2);                         // [3, 6, 5], non-contiguous
        using var index = Ref.Make(vi, [5], device, indexType);
        using var y = x.IndexSelect(1, index);
        Assert.That(y.Shape, Is.EqualTo(new[] { 3, 5, 5 }));
        var expected = Ref.Build([3, 5, 5], ix => (float)Ref.Get(vx, shape, ix[2], (int)vi[ix[1]], ix[0]));
        Reference.AssertClose(y.ToDoubleArray(), expected, 0, 0, "index_select");
        using var y0 = x0.IndexSelect(0, index);
        var expected0 = Ref.Build([5, 6, 3], ix => (float)Ref.Get(vx, shape, (int)vi[ix[0]], ix[1], ix[2]));
        Reference.AssertClose(y0.ToDoubleArray(), expected0, 0, 0, "index_select dim 0");
    }

    [TestCase(DType.Int64)]
    [TestCase(DType.Int32)]
    public void EmbeddingLooksUpRows(DType indexType)
    {
        var vw = Reference.Values(7 * 4, 49);
        double[] vi = [6, 0, 3, 3, 1, 6];
        using var w = Ref.Make(vw, [7, 4], device);
        using var index = Ref.Make(vi, [2, 3], device, indexType);
        using var y = w.Embedding(index);
        Assert.That(y.Shape, Is.EqualTo(new[] { 2, 3, 4 }));
        var expected = Ref.Build([2, 3, 4], ix => (float)Ref.Get(vw, [7, 4], (int)vi[ix[0] * 3 + ix[1]], ix[2]));
        Reference.AssertClose(y.ToDoubleArray(), expected, 0, 0, "embedding");
    }

    [Test]
    public void OneHotValues()
    {
        double[] vi = [2, 0, 4, 4, 1, 3];
        using var index = Ref.Make(vi, [2, 3], device, DType.Int64);
        using var y = index.OneHot(5);
        Assert.That(y.Shape, Is.EqualTo(new[] { 2, 3, 5 }));
        Assert.That(y.DType, Is.EqualTo(DType.Float32));
        Reference.AssertClose(y.ToDoubleArray(), Ref.Build([2, 3, 5], ix => vi[ix[0] * 3 + ix[1]] == ix[2] ? 1 : 0), 0, 0, "one_hot");
        using var i32 = Ref.Make(vi, [6], device, DType.Int32);
        using var y2 = i32.OneHot(6, DType.Int64);
        Assert.That(y2.DType, Is.EqualTo(DType.Int64));
        Assert.That(y2.ToArray<long>().Select((v, i) => v == 1 ? i % 6 : -1).Where(c => c >= 0), Is.EqualTo(vi.Select(v => (int)v)));
    }

    [Test]
    public void OutOfRangeIndicesThrow()
    {
        using var x = Ref.Make(Reference.Values(20, 50), [4, 5], device);
        using var bad = Ref.Make([0, 5, 1, 2], [4, 1], device, DType.Int64);
        Ref.Throws<ArgumentOutOfRangeException>(() => x.Gather(1, bad), "gather", "5");
        using var negative = Ref.Make([0, -1, 1, 2], [4, 1], device, DType.Int64);
        Ref.Throws<ArgumentOutOfRangeException>(() => x.Gather(1, negative), "gather", "-1");
        using var badSelect = Ref.Make([1, 4], [2], device, DType.Int32);
        Ref.Throws<ArgumentOutOfRangeException>(() => x.IndexSelect(0, badSelect), "index_select", "4");
        using var table = Ref.Make(Reference.Values(12, 51), [3, 4], device);
        Ref.Throws<ArgumentOutOfRangeException>(() => table.Embedding(badSelect), "index_select", "4", "3");
        using var src = Tensor.Ones([4, 1], device: device);
        Ref.Throws<ArgumentOutOfRangeException>(() => x.ScatterAdd(1, bad, src), "scatter_add", "5");
        using var classes = Ref.Make([0, 3], [2], device, DType.Int64);
        Ref.Throws<ArgumentOutOfRangeException>(() => classes.OneHot(3), "one_hot", "3");
    }

    [Test]
    public void OutOfRangeIndexOnALargeInputThrowsTheSameException()
    {
        // Large enough that the CPU kernel runs on several threads (any size does on a GPU device,
        // and the emulated one steps through every element on host threads).
        int rows = device == Device.Emulated ? 16 : 512;
        using var x = Tensor.Zeros([rows, 1000], device: device);
        var vi = new double[rows * 1000];
        vi[rows * 600 + 7] = 1000;
        using var index = Ref.Make(vi, [rows, 1000], device, DType.Int64);
        Ref.Throws<ArgumentOutOfRangeException>(() => x.Gather(1, index), "gather", "1000");
    }

    [Test]
    public void BadIndexArgumentsThrow()
    {
        using var x = Tensor.Zeros([4, 5], device: device);
        using var floatIndex = Tensor.Zeros([4, 1], device: device);
        Ref.Throws<ArgumentException>(() => x.Gather(1, floatIndex), "gather", "float32");
        using var wrongShape = Tensor.Zeros([3, 2], DType.Int64, device);
        Ref.Throws<ArgumentException>(() => x.Gather(1, wrongShape), "gather", "[3, 2]", "[4, 5]");
        using var twoD = Tensor.Zeros([2, 2], DType.Int64, device);
        Ref.Throws<ArgumentException>(() => x.IndexSelect(0, twoD), "index_select", "[2, 2]");
        Ref.Throws<ArgumentException>(() => twoD.OneHot(0), "one_hot", "0");
    }

    // ---- Larger problems: every dtype, and accumulation order identical to the CPU's -------------

    private static readonly DType[] AllDTypes = [DType.Float32, DType.Float64, DType.Int32, DType.Int64];

    private static double[] ValuesFor(DType dtype, int count, int seed) => dtype is DType.Int32 or DType.Int64
        ? Indices(count, 2000, seed).Select(v => v - 1000).ToArray()
        : Reference.Values(count, seed);

    [Test]
    public void GatherAndScatterAddOnEveryDTypeMatchTheCpuExactly()
    {
        // 90 entries into an axis of 37: many duplicates. A shorter inner axis on the emulated
        // device, which steps through every element on host threads.
        int inner = device == Device.Emulated ? 31 : 300;
        int[] shape = [3, 37, inner], ishape = [3, 90, inner];
        var vi = Indices(Ref.Count(ishape), shape[1], 60);
        using var index = Ref.Make(vi, ishape, device, DType.Int64);
        using var indexCpu = Ref.Make(vi, ishape, Device.Cpu, DType.Int64);
        foreach (var dtype in AllDTypes)
        {
            var vx = ValuesFor(dtype, Ref.Count(shape), 61);
            var vs = ValuesFor(dtype, Ref.Count(ishape), 62);
            using var x = Ref.Make(vx, shape, device, dtype);
            using var src = Ref.Make(vs, ishape, device, dtype);
            using var xCpu = Ref.Make(vx, shape, Device.Cpu, dtype);
            using var srcCpu = Ref.Make(vs, ishape, Device.Cpu, dtype);
            using var g = x.Gather(1, index);
            using var gCpu = xCpu.Gather(1, indexCpu);
            Assert.That(g.ToDoubleArray(), Is.EqualTo(gCpu.ToDoubleArray()), $"gather {dtype}");
            using var y = x.ScatterAdd(1, index, src);
            using var yCpu = xCpu.ScatterAdd(1, indexCpu, srcCpu);
            Assert.That(y.ToDoubleArray(), Is.EqualTo(yCpu.ToDoubleArray()), $"scatter_add {dtype}");
        }
    }

    [Test]
    public void IndexSelectAndOneHotOnEveryDType()
    {
        int[] shape = [4, 50, 70];
        var vi = Indices(120, shape[1], 63);
        using var index = Ref.Make(vi, [120], device, DType.Int64);
        foreach (var dtype in AllDTypes)
        {
            var vx = ValuesFor(dtype, Ref.Count(shape), 64);
            using var x = Ref.Make(vx, shape, device, dtype);
            using var y = x.IndexSelect(1, index);
            var expected = Ref.Build([4, 120, 70], ix => Ref.Get(vx, shape, ix[0], (int)vi[ix[1]], ix[2]));
            if (dtype == DType.Float32) expected = Ref.AsFloat(expected);
            Assert.That(y.ToDoubleArray(), Is.EqualTo(expected), $"index_select {dtype}");
            using var oneHot = index.OneHot(50, dtype);
            Assert.That(oneHot.DType, Is.EqualTo(dtype));
            Assert.That(oneHot.ToDoubleArray(), Is.EqualTo(Ref.Build([120, 50], ix => vi[ix[0]] == ix[1] ? 1 : 0)), $"one_hot {dtype}");
        }
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void IndexSelectBackwardAddsDuplicatesLikeTheCpu(DType dtype)
    {
        // The backward of index_select is index_add: 500 picks from 40 rows, so each row gets ~12 terms.
        int[] shape = [3, 40, 33];
        var vi = Indices(500, shape[1], 65);
        var vg = Reference.Values(3 * 500 * 33, 66);
        double[] Grad(Device d)
        {
            using var x = Ref.Make(Reference.Values(Ref.Count(shape), 67), shape, d, dtype);
            x.RequiresGrad = true;
            using var index = Ref.Make(vi, [500], d, DType.Int64);
            using var y = x.IndexSelect(1, index);
            using var g = Ref.Make(vg, [3, 500, 33], d, dtype);
            y.Backward(g);
            return x.Grad!.ToDoubleArray();
        }
        Assert.That(Grad(device), Is.EqualTo(Grad(Device.Cpu)));
    }

    [Test]
    public void EmptyIndexSelectAndGather()
    {
        using var x = Ref.Make(Reference.Values(20, 68), [4, 5], device);
        using var none = Tensor.Zeros([0], DType.Int64, device);
        using var y = x.IndexSelect(1, none);
        Assert.That(y.Shape, Is.EqualTo(new[] { 4, 0 }));
        using var none2 = Tensor.Zeros([4, 0], DType.Int64, device);
        using var g = x.Gather(1, none2);
        Assert.That(g.Shape, Is.EqualTo(new[] { 4, 0 }));
    }

    // ---- Gradients ------------------------------------------------------------------------

    [TestCase(0, DType.Int64)]
    [TestCase(1, DType.Int32)]
    public void GatherGradient(int dim, DType indexType)
    {
        int[] ishape = dim == 0 ? [5, 4] : [3, 6];
        using var index = Ref.Make(Indices(Ref.Count(ishape), dim == 0 ? 3 : 4, 52), ishape, device, indexType);
        Reference.AssertGradients(x => x[0].Gather(dim, index), Ref.Leaf([3, 4], device, 53));
    }

    [TestCase(DType.Int64)]
    [TestCase(DType.Int32)]
    public void ScatterAddGradient(DType indexType)
    {
        using var index = Ref.Make(Indices(3 * 5, 4, 54), [3, 5], device, indexType);
        Reference.AssertGradients(x => x[0].ScatterAdd(1, index, x[1]), Ref.Leaf([3, 4], device, 55), Ref.Leaf([3, 5], device, 56));
    }

    [TestCase(DType.Int64)]
    [TestCase(DType.Int32)]
    public void IndexSelectGradient(DType indexType)
    {
        using var index = Ref.Make([2, 0, 2, 3], [4], device, indexType);
        Reference.AssertGradients(x => x[0].IndexSelect(1, index), Ref.Leaf([3, 4, 2], device, 57));
        Reference.AssertGradients(x => x[0].T.IndexSelect(0, index), Ref.Leaf([2, 4], device, 58));
    }

    [TestCase(DType.Int64)]
    [TestCase(DType.Int32)]
    public void EmbeddingGradient(DType indexType)
    {
        using var index = Ref.Make([1, 4, 1, 0, 2, 1], [3, 2], device, indexType);
        Reference.AssertGradients(x => x[0].Embedding(index), Ref.Leaf([5, 3], device, 59));
    }
}
