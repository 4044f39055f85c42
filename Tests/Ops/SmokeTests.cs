namespace Tensorium.Tests.Ops;

[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class ArithmeticTests(Device device)
{
    [Test]
    public void AddBroadcastsLikeNumPy()
    {
        int[] sa = [67, 1, 33], sb = [45, 1];
        using var a = Reference.Random(sa, device, 1);
        using var b = Reference.Random(sb, device, 2);
        using var y = a + b;
        Assert.That(y.Shape, Is.EqualTo(new[] { 67, 45, 33 }));
        var va = a.ToDoubleArray(); var vb = b.ToDoubleArray();
        var expected = Enumerable.Range(0, y.Count).Select(i =>
        {
            var idx = Reference.Unravel(i, y.Shape);
            return (double)((float)va[Reference.BroadcastFlat(idx, sa)] + (float)vb[Reference.BroadcastFlat(idx, sb)]);
        }).ToArray();
        Reference.AssertClose(y.ToDoubleArray(), expected, 0, 0, "add");
    }

    [Test]
    public void MulGradientChecks() =>
        Reference.AssertGradients(x => x[0] * x[1], Reference.Leaf([3, 1, 4], 1), Reference.Leaf([5, 1], 2));
}
