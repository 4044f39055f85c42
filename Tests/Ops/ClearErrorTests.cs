namespace Tensorium.Tests.Ops;

/// <summary>
/// Misuse that used to fail with a vague or wrong exception (issue 13, item 9): each error names
/// the op, what it got and what it expected, and leaves no buffer allocated behind.
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class ClearErrorTests(Device device)
{
    [Test]
    public void ConcatOfScalarsNamesTheRankAndPointsToStack()
    {
        using var a = Tensor.Full([], 1.0, DType.Float32, device);
        using var b = Tensor.Full([], 2.0, DType.Float32, device);
        using var v = Tensor.Full([2], 3.0, DType.Float32, device);
        Ref.Throws<ArgumentException>(() => Joining.Concat([a, b]).Dispose(), "concat", "rank 0", "position 0", "Stack");
        Ref.Throws<ArgumentException>(() => Joining.Concat([v, b]).Dispose(), "concat", "rank 0", "position 1", "Stack");
        // Stack is the way to join scalars.
        using var s = Joining.Stack([a, b]);
        Assert.That(s.ToDoubleArray(), Is.EqualTo(new double[] { 1, 2 }));
    }

    [Test]
    public void IntegerDivisionByZeroNamesTheDivisor([Values(DType.Int32, DType.Int64)] DType dtype)
    {
        using var a = Tensor.Full([2, 3], 6.0, dtype, device);
        using var zero = Tensor.Zeros([2, 3], dtype, device);
        long live = device.Pool.LiveBuffers;
        Ref.Throws<DivideByZeroException>(() => (a / zero).Dispose(), "div", "integer division by zero", $"{dtype.Name()} divisor", "[2, 3]", "expected non-zero");
        Assert.That(device.Pool.LiveBuffers, Is.EqualTo(live), "the failed division leaves no result buffer behind");
        Ref.Throws<DivideByZeroException>(() => (a / 0.0).Dispose(), "div", "integer division by zero");
        // Float division by zero stays IEEE (inf), as in PyTorch.
        using var f = Tensor.Full([2], 1.0, DType.Float32, device);
        using var q = f / 0.0;
        Assert.That(q.ToDoubleArray(), Is.All.EqualTo(double.PositiveInfinity));
    }

    [Test]
    public void OutOfRangeIndicesAreArgumentErrors()
    {
        using var x = Tensor.Zeros([2, 5], DType.Float32, device);
        using var bad = Tensor.FromSpan<long>([0, 5, 1, 2], [2, 2], device);
        var ex = Ref.Throws<ArgumentOutOfRangeException>(() => x.Gather(1, bad).Dispose(), "gather", "index 5", "size 5", "expected indices in [0, 4]");
        Assert.That(ex.Message, Does.Not.Contain("Parameter"), "the message is the op's own sentence");
        using var select = Tensor.FromSpan<long>([2], [1], device);
        Ref.Throws<ArgumentOutOfRangeException>(() => x.IndexSelect(0, select).Dispose(), "index_select", "index 2", "[0, 1]");
        using var table = Tensor.Zeros([3, 4], DType.Float32, device);
        using var tokens = Tensor.FromSpan<long>([1, 3], [2], device);
        Ref.Throws<ArgumentOutOfRangeException>(() => table.Embedding(tokens).Dispose(), "index 3", "[0, 2]");
        using var classes = Tensor.FromSpan<long>([0, 3], [2], device);
        Ref.Throws<ArgumentOutOfRangeException>(() => classes.OneHot(3).Dispose(), "one_hot", "index 3", "[0, 2]");
    }

    [Test]
    public void Conv2dAcceptsAnEmptyBatchForwardAndBackward()
    {
        using var scope = new TensorScope();
        var x = Tensor.Zeros([0, 2, 5, 5], DType.Float32, device);
        var w = Tensor.Full([3, 2, 3, 3], 0.5, DType.Float32, device);
        var b = Tensor.Full([3], 1.0, DType.Float32, device);
        x.RequiresGrad = true; w.RequiresGrad = true; b.RequiresGrad = true;
        var y = x.Conv2d(w, b, padding: 1);
        Assert.That(y.Shape, Is.EqualTo(new[] { 0, 3, 5, 5 }));
        y.Sum().Backward();
        // Like matmul with an empty batch: the input gradient is empty, the others are zeros.
        Assert.That(x.Grad!.Shape, Is.EqualTo(new[] { 0, 2, 5, 5 }));
        Assert.That(w.Grad!.ToDoubleArray(), Is.All.EqualTo(0.0));
        Assert.That(b.Grad!.ToDoubleArray(), Is.All.EqualTo(0.0));
    }
}
