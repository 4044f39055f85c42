namespace Tensorium.Tests.Engine;

/// <summary>Bad input raises an exception naming the op and the shapes, dtypes or values involved.</summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class ErrorTests(Device device)
{
    [Test]
    public void AddShapeMismatch()
    {
        using var a = Tensor.Zeros([2, 3], device: device);
        using var b = Tensor.Zeros([4], device: device);
        Ref.Throws<ArgumentException>(() => a.Add(b), "add", "[2, 3]", "[4]");
        Ref.Throws<ArgumentException>(() => (a * b).Dispose(), "mul", "[2, 3]", "[4]");
        using var c = Tensor.Zeros([3, 1, 5], device: device);
        using var d = Tensor.Zeros([4, 6], device: device);
        Ref.Throws<ArgumentException>(() => c.Maximum(d), "maximum", "[3, 1, 5]", "[4, 6]");
    }

    [Test]
    public void DifferentDTypes()
    {
        using var a = Tensor.Zeros([2], DType.Float32, device);
        using var b = Tensor.Zeros([2], DType.Float64, device);
        Ref.Throws<ArgumentException>(() => a.Mul(b), "mul", "float32", "float64");
        using var i = Tensor.Zeros([2], DType.Int64, device);
        Ref.Throws<ArgumentException>(() => a.Lt(i), "lt", "float32", "int64");
        Ref.Throws<ArgumentException>(() => a.MatMul(b), "matmul", "float32", "float64");
    }

    [Test]
    public void AxisOutOfRange()
    {
        using var x = Tensor.Zeros([2, 3], device: device);
        Ref.Throws<ArgumentOutOfRangeException>(() => x.Sum(2), "sum", "2", "rank 2");
        Ref.Throws<ArgumentOutOfRangeException>(() => x.Mean(-3), "mean", "-3");
        Ref.Throws<ArgumentOutOfRangeException>(() => x.Transpose(0, 5), "transpose", "5");
        Ref.Throws<ArgumentOutOfRangeException>(() => x.ArgMax(3), "argmax", "3");
        Ref.Throws<ArgumentOutOfRangeException>(() => x.Unsqueeze(4), "unsqueeze", "4");
        Ref.Throws<ArgumentOutOfRangeException>(() => x.Slice(2, 0, 1), "slice", "2");
        Ref.Throws<ArgumentOutOfRangeException>(() => x.Size(2), "size", "2");
        Ref.Throws<ArgumentException>(() => x.Permute(0, 0), "permute");
        Ref.Throws<ArgumentException>(() => x.Permute(0), "permute", "rank 2");
    }

    [Test]
    public void MatMulInnerDimensions()
    {
        using var a = Tensor.Zeros([2, 3], device: device);
        using var b = Tensor.Zeros([4, 5], device: device);
        Ref.Throws<ArgumentException>(() => a.MatMul(b), "matmul", "[2, 3]", "[4, 5]");
        using var v = Tensor.Zeros([4], device: device);
        Ref.Throws<ArgumentException>(() => a.MatMul(v), "matmul", "3", "4");
        using var s = Tensor.Scalar(1, device: device);
        Ref.Throws<ArgumentException>(() => a.MatMul(s), "matmul", "[]");
        using var c = Tensor.Zeros([2, 2, 3], device: device);
        using var d = Tensor.Zeros([3, 3, 4], device: device);
        Ref.Throws<ArgumentException>(() => c.MatMul(d), "matmul", "[2]", "[3]");
    }

    [Test]
    public void ReshapeToWrongSize()
    {
        using var x = Tensor.Zeros([2, 3], device: device);
        Ref.Throws<ArgumentException>(() => x.Reshape(4), "reshape", "[2, 3]", "[4]");
        Ref.Throws<ArgumentException>(() => x.Reshape(4, -1), "reshape", "[2, 3]", "[4, -1]");
        Ref.Throws<ArgumentException>(() => x.Reshape(-1, -1), "reshape", "[-1, -1]");
    }

    [Test]
    public void UseAfterDispose()
    {
        var x = Tensor.Ones([2, 2], device: device);
        using var y = Tensor.Ones([2, 2], device: device);
        x.Dispose();
        Assert.That(x.IsDisposed, Is.True);
        Ref.Throws<ObjectDisposedException>(() => x.Add(y), "add");
        Ref.Throws<ObjectDisposedException>(() => y.Add(x), "add");
        Ref.Throws<ObjectDisposedException>(() => x.Exp(), "exp");
        Ref.Throws<ObjectDisposedException>(() => (x * 2.0).Dispose(), "mul");
        Ref.Throws<ObjectDisposedException>(() => (1.0 - x).Dispose(), "sub");
        Ref.Throws<ObjectDisposedException>(() => x.Gt(0), "gt");
        using (var index = Tensor.Zeros([2, 1], DType.Int64, device))
        {
            index.Dispose();
            Ref.Throws<ObjectDisposedException>(() => y.Gather(1, index), "gather");
        }
        Ref.Throws<ObjectDisposedException>(() => x.Sum(), "sum");
        Ref.Throws<ObjectDisposedException>(() => x.Transpose(0, 1), "transpose");
        Ref.Throws<ObjectDisposedException>(() => x.MatMul(y), "matmul");
        Ref.Throws<ObjectDisposedException>(() => x.ToArray<float>(), "to_array");
        Ref.Throws<ObjectDisposedException>(() => x.To(DType.Float64), "to");
        Ref.Throws<ObjectDisposedException>(() => y.CopyFrom(x), "copy_from");
        Ref.Throws<ObjectDisposedException>(() => Joining.Concat([y, x]), "concat");
        Assert.That(x.ToString(), Does.Contain("disposed"));
        x.Dispose();   // twice is fine
    }

    [Test]
    public void BackwardOnNonScalarWithoutGradient()
    {
        using var x = Ref.Leaf([2, 3], device);
        using var y = x.Exp();
        Ref.Throws<InvalidOperationException>(() => y.Backward(), "backward", "[2, 3]");
    }

    [Test]
    public void GradCheckRejectsFloat32()
    {
        using var x = Tensor.Zeros([2], DType.Float32, device);
        x.RequiresGrad = true;
        Ref.Throws<ArgumentException>(() => GradCheck.Check(t => t[0].Exp(), [x]), "gradcheck", "float32");
    }

    [Test]
    public void NegativeShapes()
    {
        Ref.Throws<ArgumentException>(() => Tensor.Zeros([2, -1], device: device), "full", "[2, -1]");
        Ref.Throws<ArgumentException>(() => Tensor.Zeros([1 << 16, 1 << 16], device: device), "[65536, 65536]");
    }

    [Test]
    public void ItemOfManyElements()
    {
        using var x = Tensor.Zeros([2], device: device);
        Ref.Throws<InvalidOperationException>(() => x.Item(), "item", "[2]");
    }

    [Test]
    public void CopyFromIncompatibleShape()
    {
        using var x = Tensor.Zeros([2, 3], device: device);
        using var y = Tensor.Zeros([3, 2], device: device);
        Ref.Throws<ArgumentException>(() => x.CopyFrom(y), "copy_from", "[3, 2]", "[2, 3]");
    }

    [Test]
    public void ErrorsLeaveOperandsUsable()
    {
        using var a = Ref.Make([1, 2, 3], [3], device);
        using var b = Tensor.Zeros([2], device: device);
        Assert.Catch<ArgumentException>(() => a.Add(b));
        using var c = a + a;
        Assert.That(c.ToDoubleArray(), Is.EqualTo(new double[] { 2, 4, 6 }));
    }
}
