namespace Tensorium.Tests.Engine;

/// <summary>ToString follows PyTorch's layout: nested brackets, aligned columns, "..." for big tensors.</summary>
public class PrintingTests
{
    [Test]
    public void FloatMatrix()
    {
        using var x = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2);
        Assert.That(x.ToString(), Is.EqualTo("tensor([[1., 2.],\n        [3., 4.]], shape=[2, 2], dtype=float32)"));
    }

    [Test]
    public void FractionsUseFourDecimalsAndAlign()
    {
        using var x = Tensor.FromArray(new double[] { 1.5, -2.25, 10 });
        Assert.That(x.ToString(), Is.EqualTo("tensor([ 1.5000, -2.2500, 10.0000], shape=[3], dtype=float64)"));
    }

    [Test]
    public void WholeNumbersAlign()
    {
        using var x = Tensor.FromArray(new float[] { -1, 10, 100 });
        Assert.That(x.ToString(), Is.EqualTo("tensor([ -1.,  10., 100.], shape=[3], dtype=float32)"));
    }

    [Test]
    public void ScientificWhenMagnitudesDiffer()
    {
        using var x = Tensor.FromArray(new double[] { 1e-5, 1 });
        Assert.That(x.ToString(), Is.EqualTo("tensor([1.0000e-05, 1.0000e+00], shape=[2], dtype=float64)"));
    }

    [Test]
    public void Integers()
    {
        using var x = Tensor.FromArray(new long[] { 1, -20, 300 });
        Assert.That(x.ToString(), Is.EqualTo("tensor([  1, -20, 300], shape=[3], dtype=int64)"));
        using var y = Tensor.FromArray(new int[,] { { 1, 2 }, { 3, 4 } });
        Assert.That(y.ToString(), Is.EqualTo("tensor([[1, 2],\n        [3, 4]], shape=[2, 2], dtype=int32)"));
    }

    [Test]
    public void ScalarAndEmpty()
    {
        using var s = Tensor.Scalar(3.5);
        Assert.That(s.ToString(), Is.EqualTo("tensor(3.5000, shape=[], dtype=float32)"));
        using var e = Tensor.Zeros([0]);
        Assert.That(e.ToString(), Is.EqualTo("tensor([], shape=[0], dtype=float32)"));
    }

    [Test]
    public void SpecialValues()
    {
        using var x = Tensor.FromArray(new float[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1 });
        Assert.That(x.ToString(), Is.EqualTo("tensor([ nan,  inf, -inf,   1.], shape=[4], dtype=float32)"));
    }

    [Test]
    public void ThreeDimensionsSeparateBlocksByABlankLine()
    {
        using var x = Tensor.Arange(8, DType.Int64).Reshape(2, 2, 2);
        Assert.That(x.ToString(), Is.EqualTo(
            "tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]], shape=[2, 2, 2], dtype=int64)"));
    }

    [Test]
    public void NonContiguousPrintsLogicalOrder()
    {
        using var x = Tensor.FromArray(new int[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        using var t = x.T;
        Assert.That(t.ToString(), Is.EqualTo("tensor([[1, 4],\n        [2, 5],\n        [3, 6]], shape=[3, 2], dtype=int32)"));
    }

    [Test]
    public void LargeTensorsAreAbbreviated()
    {
        using var x = Tensor.Arange(2000, DType.Int64);
        var s = x.ToString();
        Assert.That(s, Does.StartWith("tensor([   0,    1,    2, ..., 1997, 1998, 1999]"));
        Assert.That(s, Does.EndWith("shape=[2000], dtype=int64)"));
        using var m = Tensor.Arange(100 * 20, DType.Int32).Reshape(100, 20);
        var lines = m.ToString().Split('\n');
        Assert.That(lines, Has.Length.EqualTo(7), "three rows, '...', three rows");
        Assert.That(lines[0], Does.StartWith("tensor([[   0,    1,    2, ...,   17,   18,   19],"));
        Assert.That(lines[3].Trim(), Is.EqualTo("...,"));
        Assert.That(lines[6], Does.StartWith("        [1980, 1981, 1982, ..., 1997, 1998, 1999]]"));
        using var small = Tensor.Arange(1000, DType.Int32);
        Assert.That(small.ToString(), Does.Not.Contain("..."), "1000 elements are printed in full");
    }

    [Test]
    public void RequiresGradIsShown()
    {
        using var x = Tensor.FromArray(new double[] { 1, 2 });
        x.RequiresGrad = true;
        Assert.That(x.ToString(), Is.EqualTo("tensor([1., 2.], shape=[2], dtype=float64, requires_grad=True)"));
        using var y = x * 2.0;
        Assert.That(y.ToString(), Does.EndWith(", requires_grad=True)"));
    }

    [Test]
    public void Disposed()
    {
        var x = Tensor.Ones([2]);
        x.Dispose();
        Assert.That(x.ToString(), Is.EqualTo("tensor(<disposed>)"));
    }
}
