using Tensorium.Layers;

namespace Tensorium.Tests.Layers;

/// <summary>AvgPool2d and GlobalAveragePooling2d against plain loops, with float64 gradient checks.</summary>
public class PoolingLayerTests
{
    /// <summary>Average pooling by the definition: zero padding counted, floor mode.</summary>
    private static double[] AvgPoolReference(double[] x, int n, int c, int h, int w, int k, int s, int p, out int oh, out int ow)
    {
        oh = (h + 2 * p - k) / s + 1;
        ow = (w + 2 * p - k) / s + 1;
        var y = new double[n * c * oh * ow];
        for (int nc = 0; nc < n * c; nc++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    double sum = 0;
                    for (int di = 0; di < k; di++)
                        for (int dj = 0; dj < k; dj++)
                        {
                            int r = i * s + di - p, q = j * s + dj - p;
                            if (r >= 0 && r < h && q >= 0 && q < w) sum += x[(nc * h + r) * w + q];
                        }
                    y[(nc * oh + i) * ow + j] = sum / (k * k);
                }
        return y;
    }

    [TestCase(2, null, 0, 6, 6)]
    [TestCase(2, null, 0, 7, 5)]   // windows that do not fit are dropped
    [TestCase(3, 2, 0, 7, 8)]
    [TestCase(3, 1, 1, 5, 4)]
    [TestCase(4, 3, 2, 9, 7)]
    public void AvgPoolMatchesReference(int k, int? s, int p, int h, int w)
    {
        using var scope = new TensorScope();
        var pool = new AvgPool2d(k, s, p);
        var x = ModuleGradCheck.Data([2, 3, h, w], seed: 21, dtype: DType.Float32);
        var expected = AvgPoolReference(x.ToDoubleArray(), 2, 3, h, w, k, s ?? k, p, out int oh, out int ow);
        var y = pool.Forward(x);
        Assert.That(y.Shape, Is.EqualTo(new[] { 2, 3, oh, ow }));
        Reference.AssertClose(y.ToDoubleArray(), expected, 1e-6, 1e-5, "avg pool");
    }

    [TestCase(2, null, 0)]
    [TestCase(3, 2, 1)]
    public void AvgPoolGradients(int k, int? s, int p)
    {
        using var scope = new TensorScope();
        var pool = new AvgPool2d(k, s, p);
        var x = ModuleGradCheck.Data([1, 2, 5, 6], seed: 22, requiresGrad: true);
        Reference.AssertGradients(xs => pool.Forward(xs[0]), x);
    }

    [Test]
    public void AvgPoolRejectsBadInput()
    {
        using var scope = new TensorScope();
        var ex = Assert.Throws<ArgumentException>(() => new AvgPool2d(3).Forward(Tensor.Zeros([2, 2, 2])));
        Assert.That(ex!.Message, Does.Contain("AvgPool2d").And.Contain("[2, 2, 2]"));
        ex = Assert.Throws<ArgumentException>(() => new AvgPool2d(3).Forward(Tensor.Zeros([1, 1, 2, 5])));
        Assert.That(ex!.Message, Does.Contain("does not fit"));
        Assert.Throws<ArgumentException>(() => new AvgPool2d(2, padding: 2));
    }

    [Test]
    public void GlobalAveragePoolingAveragesEachChannel()
    {
        using var scope = new TensorScope();
        var x = ModuleGradCheck.Data([2, 3, 4, 5], seed: 23, dtype: DType.Float32);
        var xs = x.ToDoubleArray();
        var expected = Enumerable.Range(0, 6).Select(nc => xs.Skip(nc * 20).Take(20).Average()).ToArray();
        var y = new GlobalAveragePooling2d().Forward(x);
        Assert.That(y.Shape, Is.EqualTo(new[] { 2, 3 }));
        Reference.AssertClose(y.ToDoubleArray(), expected, 1e-6, 1e-5, "gap");
        Assert.That(new GlobalAveragePooling2d(keepDims: true).Forward(x).Shape, Is.EqualTo(new[] { 2, 3, 1, 1 }));
        var leaf = ModuleGradCheck.Data([2, 2, 3, 2], seed: 24, requiresGrad: true);
        Reference.AssertGradients(xs2 => new GlobalAveragePooling2d().Forward(xs2[0]), leaf);
        var ex = Assert.Throws<ArgumentException>(() => new GlobalAveragePooling2d().Forward(Tensor.Zeros([2, 3])));
        Assert.That(ex!.Message, Does.Contain("GlobalAveragePooling2d").And.Contain("[2, 3]"));
    }
}
