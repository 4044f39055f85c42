namespace Tensorium.Tests.Engine;

/// <summary>Autograd used the wrong way (issue 13, item 9): clear errors, and nothing hoarded after a failure.</summary>
public class AutogradMisuseTests
{
    [Test]
    public void RequiresGradOnIntegerTensorIsRefused()
    {
        using var labels = Tensor.Zeros([3], DType.Int32);
        Ref.Throws<InvalidOperationException>(() => labels.RequiresGrad = true,
            "requires_grad: got a tensor of dtype int32; expected a floating dtype (float32 or float64)");
        Assert.That(labels.RequiresGrad, Is.False);
        labels.RequiresGrad = false;   // turning it off is always fine
    }

    [Test]
    public void BackwardOnDisposedTensorSaysSo()
    {
        using var x = Ref.Leaf([3], Device.Cpu);
        var loss = x.Square().Sum();
        loss.Dispose();
        var ex = Ref.Throws<ObjectDisposedException>(() => loss.Backward(), "backward: the tensor was used after Dispose().");
        Assert.That(ex.Message, Does.Not.Contain("dtype"));
    }

    [Test, NonParallelizable]
    public void BackwardThatThrowsFreesTheGradientsItHeld()
    {
        using var x = Ref.Leaf([4], Device.Cpu);
        using var y = x.Exp();
        using var a = y * 2.0;
        using var b = y * 3.0;
        Tensor boomOutput;
        using (Tape.NoGrad()) boomOutput = a * 1.0;
        using var boom = Tape.Record("boom", boomOutput, [a], (_, _) => throw new InvalidOperationException("boom: backward failed"));
        using var sum = boom + b;
        using var loss = sum.Sum();
        long before = Reference.SettledLiveBuffers();
        Ref.Throws<InvalidOperationException>(() => loss.Backward(), "boom: backward failed");
        // Read the counter without collecting: the finalizer safety net would hide a leak that
        // lasts until the next garbage collection.
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before), "live CPU buffers right after a failed Backward");
    }
}
