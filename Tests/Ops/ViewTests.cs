namespace Tensorium.Tests.Ops;

[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class ViewTests(Device device)
{
    private static readonly int[] S = [4, 5, 6];

    /// <summary>x[i, j, k] = 100 i + 10 j + k: every element names its own index.</summary>
    private Tensor Base(int[]? shape = null, DType dtype = DType.Float32)
    {
        shape ??= S;
        return Ref.Make(Ref.Build(shape, ix => ix.Aggregate(0.0, (acc, v) => acc * 10 + v)), shape, device, dtype);
    }

    private static double Code(params int[] ix) => ix.Aggregate(0.0, (acc, v) => acc * 10 + v);

    private static void AssertValues(Tensor y, int[] shape, Func<int[], double> expected, string what)
    {
        Assert.That(y.Shape, Is.EqualTo(shape), what + ": shape");
        Reference.AssertClose(y.ToDoubleArray(), Ref.Build(shape, expected), 0, 0, what);
    }

    [Test]
    public void TransposeIsAViewWithSwappedIndices()
    {
        using var x = Base();
        using var y = x.Transpose(0, 2);
        AssertValues(y, [6, 5, 4], ix => Code(ix[2], ix[1], ix[0]), "transpose");
        Assert.That(y.Layout.IsContiguous, Is.False);
        using var neg = x.Transpose(-1, -3);
        AssertValues(neg, [6, 5, 4], ix => Code(ix[2], ix[1], ix[0]), "transpose negative dims");
        // Writing through the view changes the base: no copy was made.
        using (var row = y.Narrow(0, 1, 1))
        using (var minusOne = Tensor.Scalar(-1, device: device))
            row.CopyFrom(minusOne);
        AssertValues(x, S, ix => ix[2] == 1 ? -1 : Code(ix), "base after write through transpose");
    }

    [Test]
    public void PermuteValues()
    {
        using var x = Base();
        using var y = x.Permute(2, 0, 1);
        AssertValues(y, [6, 4, 5], ix => Code(ix[1], ix[2], ix[0]), "permute");
        using var z = x.Permute(-1, 1, 0);
        AssertValues(z, [6, 5, 4], ix => Code(ix[2], ix[1], ix[0]), "permute negative");
        using var back = y.Permute(1, 2, 0);
        AssertValues(back, S, Code, "permute inverse");
    }

    [Test]
    public void TOfMatrix()
    {
        using var x = Base([3, 7]);
        using var t = x.T;
        AssertValues(t, [7, 3], ix => Code(ix[1], ix[0]), "T");
        using var tt = t.T;
        AssertValues(tt, [3, 7], Code, "T of T");
    }

    [Test]
    public void SqueezeAndUnsqueeze()
    {
        using var x = Base([3, 1, 4, 1]);
        using (var a = x.Squeeze()) AssertValues(a, [3, 4], ix => Code(ix[0], 0, ix[1], 0), "squeeze all");
        using (var b = x.Squeeze(1)) AssertValues(b, [3, 4, 1], ix => Code(ix[0], 0, ix[1], 0), "squeeze 1");
        using (var c = x.Squeeze(-1)) AssertValues(c, [3, 1, 4], ix => Code(ix[0], 0, ix[2], 0), "squeeze -1");
        using (var d = x.Squeeze(0)) AssertValues(d, [3, 1, 4, 1], Code, "squeeze of a non-1 dim is a no-op");
        using (var e = x.Unsqueeze(0)) AssertValues(e, [1, 3, 1, 4, 1], ix => Code(ix[1], 0, ix[3], 0), "unsqueeze 0");
        using (var f = x.Unsqueeze(-1)) AssertValues(f, [3, 1, 4, 1, 1], ix => Code(ix[0], 0, ix[2], 0), "unsqueeze -1");
        using (var g = x.Unsqueeze(2)) AssertValues(g, [3, 1, 1, 4, 1], ix => Code(ix[0], 0, ix[3], 0), "unsqueeze 2");
        // Of a non-contiguous view, then copied.
        using var y = Base([3, 4]);
        using var yt = y.T;
        using var u = yt.Unsqueeze(1);
        using var uc = u.Contiguous();
        AssertValues(uc, [4, 1, 3], ix => Code(ix[2], ix[0]), "unsqueeze of transpose");
        using var scalar = Tensor.Scalar(2, device: device);
        using var s1 = scalar.Unsqueeze(0);
        Assert.That(s1.Shape, Is.EqualTo(new[] { 1 }));
    }

    [Test]
    public void NarrowValues()
    {
        using var x = Base();
        using var y = x.Narrow(1, 1, 3);
        AssertValues(y, [4, 3, 6], ix => Code(ix[0], ix[1] + 1, ix[2]), "narrow");
        using var z = x.Narrow(-1, 4, 2);
        AssertValues(z, [4, 5, 2], ix => Code(ix[0], ix[1], ix[2] + 4), "narrow last dim");
        using var e = x.Narrow(0, 4, 0);
        Assert.That(e.Shape, Is.EqualTo(new[] { 0, 5, 6 }));
    }

    [Test]
    public void NarrowNegativeStartCountsFromTheEnd()
    {
        using var x = Base();
        using var y = x.Narrow(2, -2, 2);
        AssertValues(y, [4, 5, 2], ix => Code(ix[0], ix[1], ix[2] + 4), "narrow negative start");
    }

    [Test]
    public void NarrowOutOfRangeThrows()
    {
        using var x = Base();
        Ref.Throws<ArgumentException>(() => x.Narrow(1, 3, 4).Dispose(), "narrow", "3", "4", "5");
        Ref.Throws<ArgumentException>(() => x.Narrow(1, 0, -1).Dispose(), "narrow");
    }

    [Test]
    public void SliceWithStepAndNegativeBounds()
    {
        using var x = Base();
        using (var a = x.Slice(2, 1, 6, 2)) AssertValues(a, [4, 5, 3], ix => Code(ix[0], ix[1], 1 + 2 * ix[2]), "slice step 2");
        using (var b = x.Slice(1, -3, -1)) AssertValues(b, [4, 2, 6], ix => Code(ix[0], ix[1] + 2, ix[2]), "slice negative bounds");
        using (var c = x.Slice(0, -100, 100, 3)) AssertValues(c, [2, 5, 6], ix => Code(3 * ix[0], ix[1], ix[2]), "slice clipped bounds");
        using (var d = x.Slice(2, 4, 2)) Assert.That(d.Shape, Is.EqualTo(new[] { 4, 5, 0 }));
        using (var e = x.Slice(2, 5, 6, 4)) AssertValues(e, [4, 5, 1], ix => Code(ix[0], ix[1], 5), "slice single");
        Ref.Throws<ArgumentException>(() => x.Slice(0, 0, 4, 0), "slice", "step");
    }

    [Test]
    public void SliceOfSliceWritesThrough()
    {
        using var x = Base([6, 8], DType.Float64);
        using var a = x.Slice(1, 1, 8, 2);          // columns 1, 3, 5, 7
        using var b = a.Slice(0, 4, 0 + 6);          // rows 4, 5
        using var c = b.Slice(1, 1, 3);              // columns 3, 5
        AssertValues(c, [2, 2], ix => Code(4 + ix[0], 3 + 2 * ix[1]), "slice of slice");
        using (var v = Tensor.Full([2, 1], 0.5, DType.Float64, device)) c.CopyFrom(v);
        AssertValues(x, [6, 8], ix => ix[0] >= 4 && (ix[1] == 3 || ix[1] == 5) ? 0.5 : Code(ix), "base after write");
    }

    [Test]
    public void ExpandBroadcastsWithoutCopy()
    {
        using var x = Base([3, 1]);
        using var y = x.Expand(2, 3, 4);
        AssertValues(y, [2, 3, 4], ix => Code(ix[1], 0), "expand");
        Assert.That(y.Layout.Strides[0], Is.Zero);
        Assert.That(y.Layout.Strides[2], Is.Zero);
        using var z = x.Expand(-1, 5);
        AssertValues(z, [3, 5], ix => Code(ix[0], 0), "expand -1");
        using (var v = Tensor.Full([3, 1], 7, device: device)) x.CopyFrom(v);
        AssertValues(y, [2, 3, 4], _ => 7, "expanded view sees base writes");
        Ref.Throws<ArgumentException>(() => x.Expand(2).Dispose(), "expand", "[3, 1]", "[2]");
        using var w = Base([3, 4]);
        Ref.Throws<ArgumentException>(() => w.Expand(3, 5).Dispose(), "expand", "[3, 4]", "[3, 5]");
    }

    [Test]
    public void FlattenValues()
    {
        using var x = Base();
        using (var a = x.Flatten()) AssertValues(a, [120], ix => Code(ix[0] / 30, ix[0] / 6 % 5, ix[0] % 6), "flatten");
        using (var b = x.Flatten(1)) AssertValues(b, [4, 30], ix => Code(ix[0], ix[1] / 6, ix[1] % 6), "flatten 1");
        using (var c = x.Flatten(0, 1)) AssertValues(c, [20, 6], ix => Code(ix[0] / 5, ix[0] % 5, ix[1]), "flatten 0..1");
        using var t = x.Transpose(0, 2);
        using (var d = t.Flatten(1)) AssertValues(d, [6, 20], ix => Code(ix[1] % 4, ix[1] / 4, ix[0]), "flatten of transpose");
        using var s = Tensor.Scalar(3, device: device);
        using var e = s.Flatten();
        Assert.That(e.Shape, Is.EqualTo(new[] { 1 }));
    }

    [Test]
    public void ReshapeWithInferredSize()
    {
        using var x = Base();
        using (var a = x.Reshape(-1, 6)) AssertValues(a, [20, 6], ix => Code(ix[0] / 5, ix[0] % 5, ix[1]), "reshape -1");
        using (var b = x.Reshape(2, -1, 3)) AssertValues(b, [2, 20, 3], ix => { int f = ix[0] * 60 + ix[1] * 3 + ix[2]; return Code(f / 30, f / 6 % 5, f % 6); }, "reshape middle -1");
        using (var c = x.Reshape(120)) Assert.That(c.Shape, Is.EqualTo(new[] { 120 }));
        using var empty = Tensor.Zeros([0, 3], device: device);
        using (var d = empty.Reshape(3, 0, 5)) Assert.That(d.Shape, Is.EqualTo(new[] { 3, 0, 5 }));
    }

    [Test]
    public void ReshapeOfContiguousSharesStorage()
    {
        using var x = Base([4, 6]);
        using var r = x.Reshape(2, 12);
        using (var v = Tensor.Zeros([4, 6], device: device)) x.CopyFrom(v);
        Assert.That(r.ToDoubleArray(), Is.All.EqualTo(0));
    }

    [Test]
    public void ReshapeOfNonContiguousCopiesWithRightValues()
    {
        using var x = Base([4, 6]);
        using var t = x.T;
        using var r = t.Reshape(24);
        AssertValues(r, [24], ix => Code(ix[0] % 4, ix[0] / 4), "reshape of transpose");
        using (var v = Tensor.Zeros([4, 6], device: device)) x.CopyFrom(v);
        AssertValues(r, [24], ix => Code(ix[0] % 4, ix[0] / 4), "copy is independent of the base");
    }

    [Test]
    public void ReshapeOfSliceThatStaysAView()
    {
        using var x = Base([4, 5, 6]);
        using var s = x.Narrow(2, 0, 3);       // [4, 5, 3], strides [30, 6, 1]
        using var r = s.Reshape(20, 3);        // dims 0 and 1 merge: still a view
        AssertValues(r, [20, 3], ix => Code(ix[0] / 5, ix[0] % 5, ix[1]), "reshape of slice");
        using var r2 = s.Reshape(4, 15);       // dims 1 and 2 do not merge: a copy
        AssertValues(r2, [4, 15], ix => Code(ix[0], ix[1] / 3, ix[1] % 3), "reshape of slice needing a copy");
        using (var v = Tensor.Full([1], -1, device: device)) s.CopyFrom(v);
        Assert.That(r.ToDoubleArray(), Is.All.EqualTo(-1), "the view sees the write");
        Assert.That(r2.ToDoubleArray(), Has.None.EqualTo(-1), "the copy does not");
    }

    [Test]
    public void ViewAsFailsOnNonContiguous()
    {
        using var x = Base([4, 6]);
        using var v = x.ViewAs(3, 8);
        Assert.That(v.Shape, Is.EqualTo(new[] { 3, 8 }));
        using var t = x.T;
        Ref.Throws<InvalidOperationException>(() => t.ViewAs(24).Dispose(), "view", "[24]");
        Ref.Throws<ArgumentException>(() => x.ViewAs(5, 5).Dispose(), "view", "[4, 6]", "[5, 5]");
    }

    [Test]
    public void ContiguousCopiesOnlyWhenNeeded()
    {
        using var x = Base([3, 4]);
        using var t = x.T;
        using var c = t.Contiguous();
        Assert.That(c.Layout.IsContiguous, Is.True);
        AssertValues(c, [4, 3], ix => Code(ix[1], ix[0]), "contiguous of transpose");
        using var same = x.Contiguous();
        using var rows = x.Narrow(0, 1, 2);
        using var sameRows = rows.Contiguous();
        Assert.That(sameRows.Layout.Offset, Is.EqualTo(4), "rows 1..2 stay a view into x");
        using (var v = Tensor.Zeros([3, 4], device: device)) x.CopyFrom(v);
        Assert.That(same.ToDoubleArray(), Is.All.EqualTo(0), "contiguous of contiguous shares storage");
        Assert.That(sameRows.ToDoubleArray(), Is.All.EqualTo(0), "so does contiguous of a contiguous view at an offset");
        Assert.That(c.ToDoubleArray(), Has.Some.Not.EqualTo(0), "the copy does not");
    }

    [Test]
    public void ChainedViewsOnAwkwardShape()
    {
        int[] shape = [67, 45, 33];
        var data = Reference.Values(Ref.Count(shape), 3);
        using var x = Ref.Make(data, shape, device, DType.Float64);
        using var a = x.Transpose(0, 2);                // [33, 45, 67]
        using var b = a.Slice(1, 3, 40, 4);             // [33, 10, 67]
        using var c = b.Narrow(0, 5, 20);               // [20, 10, 67]
        using var d = c.Slice(2, -60, 67, 7);           // [20, 10, 9]
        using var e = d.Unsqueeze(1);                   // [20, 1, 10, 9]
        using var f = e.Expand(20, 2, 10, 9);
        AssertValues(f, [20, 2, 10, 9], ix => Ref.Get(data, shape, 7 + 7 * ix[3], 3 + 4 * ix[2], 5 + ix[0]), "chained views");
        using var g = f.Reshape(40, -1);
        AssertValues(g, [40, 90], ix => Ref.Get(data, shape, 7 + 7 * (ix[1] % 9), 3 + 4 * (ix[1] / 9), 5 + ix[0] / 2), "reshape of chained views");
    }

    [Test]
    public void ToConvertsDTypes()
    {
        using var x = Ref.Make([1.7, -2.5, 3], [3], device, DType.Float64);
        using var f = x.To(DType.Float32);
        Assert.That(f.DType, Is.EqualTo(DType.Float32));
        Assert.That(f.ToArray<float>(), Is.EqualTo(new[] { 1.7f, -2.5f, 3f }));
        using var i = x.To(DType.Int64);
        Assert.That(i.ToArray<long>(), Is.EqualTo(new long[] { 1, -2, 3 }));
    }

    // ---- Gradients ------------------------------------------------------------------------

    [Test] public void TransposeGradient() => Reference.AssertGradients(x => x[0].Transpose(0, 2), Ref.Leaf([2, 3, 4], device));
    [Test] public void PermuteGradient() => Reference.AssertGradients(x => x[0].Permute(1, 2, 0), Ref.Leaf([2, 3, 4], device));
    [Test] public void TGradient() => Reference.AssertGradients(x => x[0].T, Ref.Leaf([3, 4], device));
    [Test] public void SqueezeGradient() => Reference.AssertGradients(x => x[0].Squeeze(), Ref.Leaf([3, 1, 4, 1], device));
    [Test] public void UnsqueezeGradient() => Reference.AssertGradients(x => x[0].Unsqueeze(-2), Ref.Leaf([3, 4], device));
    [Test] public void NarrowGradient() => Reference.AssertGradients(x => x[0].Narrow(1, 1, 2), Ref.Leaf([3, 4], device));
    [Test] public void SliceGradient() => Reference.AssertGradients(x => x[0].Slice(1, -4, 5, 2), Ref.Leaf([3, 6], device));
    [Test] public void ExpandGradient() => Reference.AssertGradients(x => x[0].Expand(2, 3, 4), Ref.Leaf([3, 1], device));
    [Test] public void FlattenGradient() => Reference.AssertGradients(x => x[0].Flatten(1), Ref.Leaf([2, 3, 2], device));
    [Test] public void ReshapeGradient() => Reference.AssertGradients(x => x[0].Reshape(-1, 3), Ref.Leaf([2, 6], device));
    [Test] public void ViewAsGradient() => Reference.AssertGradients(x => x[0].ViewAs(4, 3), Ref.Leaf([2, 6], device));
    [Test] public void ContiguousGradient() => Reference.AssertGradients(x => x[0].T.Contiguous(), Ref.Leaf([2, 5], device));
    [Test] public void ToDTypeGradient() => Reference.AssertGradients(x => x[0].T.To(DType.Float64), Ref.Leaf([2, 5], device));
    [Test] public void ToDeviceGradient() => Reference.AssertGradients(x => x[0].To(Device.Cpu).Narrow(0, 1, 2), Ref.Leaf([3, 4], device));

    [Test]
    public void ToPassesGradientsBetweenFloatTypes()
    {
        using var x = Ref.Leaf([2, 3], device);
        using var f = x.To(DType.Float32);
        using var y = f * 3.0;
        using var loss = y.Sum();
        loss.Backward();
        Assert.That(x.Grad!.DType, Is.EqualTo(DType.Float64));
        Assert.That(x.Grad.ToArray<double>(), Is.All.EqualTo(3.0));
    }

    [Test]
    public void ReshapeOfNonContiguousGradient() =>
        Reference.AssertGradients(x => x[0].Transpose(0, 1).Reshape(4, -1), Ref.Leaf([3, 4, 2], device));

    [Test]
    public void ChainedViewsGradient() =>
        Reference.AssertGradients(x => x[0].Transpose(0, 2).Slice(1, 0, 3, 2).Unsqueeze(0).Expand(2, -1, -1, -1).Flatten(), Ref.Leaf([2, 3, 4], device));

    [Test]
    public void UsingTheSameViewTwiceAccumulates() =>
        Reference.AssertGradients(x => x[0].Narrow(0, 0, 2) * x[0].Narrow(0, 1, 2), Ref.Leaf([3, 2], device));

    [Test]
    public void CopyFromBroadcastsAndConverts()
    {
        using var x = Tensor.Zeros([3, 4], DType.Int32, device);
        using var row = Ref.Make([1.9, -2.7, 3, 4.5], [4], device, DType.Float64);
        x.CopyFrom(row);
        AssertValues(x, [3, 4], ix => new[] { 1, -2, 3, 4 }[ix[1]], "copy_from broadcast row, truncating to int32");
        using var t = x.T;                                  // write into a non-contiguous destination
        using var col = Ref.Make([7, 8, 9], [3], device, DType.Int32);
        t.CopyFrom(col);
        AssertValues(x, [3, 4], ix => 7 + ix[0], "copy_from into a transposed view");
        Ref.Throws<ArgumentException>(() => x.CopyFrom(row.Reshape(2, 2)), "copy_from", "[2, 2]", "[3, 4]");
    }
}
