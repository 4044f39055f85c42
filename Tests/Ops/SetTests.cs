namespace Tensorium.Tests.Ops;

/// <summary>Tensor.Set: new content in place, keeping the object (what Module.To builds on).</summary>
[NonParallelizable]
public class SetTests
{
    [Test]
    public void TakesTheSourcesShapeDtypeAndValuesAndKeepsTheObject()
    {
        using var target = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2);
        target.Name = "w";
        target.RequiresGrad = true;
        target.OwnedByParent = true;
        using (var source = Tensor.FromArray(new double[] { 5, 6, 7 }))
        using (Tape.NoGrad())
            target.Set(source);
        Assert.That(target.Shape, Is.EqualTo(new[] { 3 }));
        Assert.That(target.DType, Is.EqualTo(DType.Float64));
        Assert.That(target.ToDoubleArray(), Is.EqualTo(new double[] { 5, 6, 7 }), "readable after the source was disposed");
        Assert.That((target.Name, target.RequiresGrad, target.OwnedByParent), Is.EqualTo(("w", true, true)), "the object's own settings stay");
    }

    [Test]
    public void SharesTheSourcesStorageAndReleasesItsOwn()
    {
        long before = Reference.SettledLiveBuffers();
        var target = Tensor.Zeros([4]);
        var source = Tensor.Ones([2, 3]);
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before + 2));
        target.Set(source);
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before + 1), "the target's old buffer was released");
        using (var twos = Tensor.Full([2, 3], 2)) source.CopyFrom(twos);
        Assert.That(target.ToDoubleArray(), Is.All.EqualTo(2), "a write through the source is seen through the target");
        source.Dispose();
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before + 1), "the target keeps the shared buffer alive");
        target.Set(target);                     // setting a tensor to itself changes nothing
        Assert.That(target.ToDoubleArray(), Is.All.EqualTo(2));
        target.Dispose();
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before), "nothing leaked");
    }

    [Test]
    public void RefusesDisposedTensorsAndRecordedLeaves()
    {
        using var live = Tensor.Ones([2]);
        var dead = Tensor.Ones([2]);
        dead.Dispose();
        Ref.Throws<ObjectDisposedException>(() => live.Set(dead), "set:");
        Ref.Throws<ObjectDisposedException>(() => dead.Set(live), "set:");

        using var leaf = Tensor.Ones([2]);
        leaf.RequiresGrad = true;
        leaf.Name = "bias";
        Ref.Throws<InvalidOperationException>(() => leaf.Set(live), "set: got a tensor ('bias') that requires grad while the tape is recording", "Tape.NoGrad()");
        Assert.That(leaf.ToDoubleArray(), Is.All.EqualTo(1), "a refused set changes nothing");
    }
}
