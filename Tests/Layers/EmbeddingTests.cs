using Tensorium.Layers;

namespace Tensorium.Tests.Layers;

/// <summary>Embedding: lookups, initialisation, gradients (accumulated for repeated indices), padding_idx.</summary>
public class EmbeddingTests
{
    [Test]
    public void LooksUpRowsForAnyIndexShape()
    {
        using var scope = new TensorScope();
        using var emb = new Embedding(5, 3);
        var table = emb.Weight.ToDoubleArray();
        long[] ids = [4, 0, 2, 2, 1, 3];
        var y = emb.Forward(Tensor.FromArray(ids, 2, 3));
        Assert.That(y.Shape, Is.EqualTo(new[] { 2, 3, 3 }));
        var expected = ids.SelectMany(i => table.Skip((int)i * 3).Take(3)).ToArray();
        Reference.AssertClose(y.ToDoubleArray(), expected, 0, 0, "rows");
        var y32 = emb.Forward(Tensor.FromArray(new[] { 1, 3 }));
        Assert.That(y32.Shape, Is.EqualTo(new[] { 2, 3 }), "int32 indices work too");
    }

    [Test]
    public void InitialisedStandardNormalLikePyTorch()
    {
        using var emb = new Embedding(200, 50, generator: new Generator(3));
        var w = emb.Weight.ToDoubleArray();
        double mean = w.Average(), std = Math.Sqrt(w.Sum(v => (v - mean) * (v - mean)) / w.Length);
        Assert.That(mean, Is.EqualTo(0).Within(0.03));
        Assert.That(std, Is.EqualTo(1).Within(0.03));
        Assert.That(emb.NamedParameters().Single().Name, Is.EqualTo("weight"));
    }

    [Test]
    public void GradientAddsUpOverRepeatedIndices()
    {
        using var scope = new TensorScope();
        using var emb = new Embedding(4, 2, dtype: DType.Float64);
        var ids = Tensor.FromArray(new long[] { 1, 3, 1, 1 });
        emb.Forward(ids).Sum().Backward();
        Assert.That(emb.Weight.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 0, 0, 3, 3, 0, 0, 1, 1 }));
        emb.ZeroGrad();
        var idx2 = Tensor.FromArray(new long[] { 0, 2, 2, 3, 1, 0 }, 3, 2);
        ModuleGradCheck.AssertGradients(emb, _ => emb.Forward(idx2), []);
    }

    [Test]
    public void PaddingIndexStartsAtZeroAndGetsNoGradient()
    {
        using var scope = new TensorScope();
        using var emb = new Embedding(4, 3, paddingIdx: 0, dtype: DType.Float64);
        Assert.That(emb.Weight.ToDoubleArray().Take(3), Is.All.EqualTo(0.0));
        ModuleGradCheck.Set(emb.Weight, Enumerable.Range(1, 12).Select(v => (double)v).ToArray());   // a non-zero padding row
        var ids = Tensor.FromArray(new long[] { 0, 2, 0, 3 });
        var y = emb.Forward(ids);
        Assert.That(y.ToDoubleArray(), Is.EqualTo(new double[] { 1, 2, 3, 7, 8, 9, 1, 2, 3, 10, 11, 12 }), "values are still the rows");
        y.Sum().Backward();
        Assert.That(emb.Weight.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1 }));
        Assert.That(new Embedding(4, 3, paddingIdx: -1).PaddingIdx, Is.EqualTo(3), "negative padding_idx counts from the end");
    }

    [Test]
    public void RejectsFloatIndicesAndBadSizes()
    {
        using var scope = new TensorScope();
        using var emb = new Embedding(4, 3);
        var ex = Assert.Throws<ArgumentException>(() => emb.Forward(Tensor.Zeros([2])));
        Assert.That(ex!.Message, Does.Contain("Embedding").And.Contain("float32"));
        Assert.Throws<ArgumentException>(() => new Embedding(0, 3));
        ex = Assert.Throws<ArgumentException>(() => new Embedding(4, 3, paddingIdx: 4));
        Assert.That(ex!.Message, Does.Contain("paddingIdx"));
        Assert.That(() => emb.Forward(Tensor.FromArray(new long[] { 7 })), Throws.Exception, "out-of-range index");
    }
}
