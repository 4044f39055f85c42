using Tensorium.Optim;

namespace Tensorium.Tests.Engine;

/// <summary>
/// In-place writes after the tape saved a tensor (issue 13, item 1): Backward must refuse to
/// compute gradients from values that changed after the forward pass, and a tensor that requires
/// a gradient may not be written in place while the tape is recording.
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class InPlaceTests(Device device)
{
    private Tensor Leaf(int[] shape, int seed, bool requiresGrad = true)
    {
        var t = Ref.Make(Reference.Values(Ref.Count(shape), seed), shape, device);
        t.RequiresGrad = requiresGrad;
        return t;
    }

    [Test]
    public void CopyFromAfterRecordingMakesBackwardThrowAndChangeNothing()
    {
        using var x = Leaf([3, 2], 1);
        using var w = Leaf([3, 2], 2);
        using var y = x * w;          // mul saves x and w: their values at this moment
        using var loss = y.Sum();
        using (Tape.NoGrad())
        using (var z = Tensor.Zeros([3, 2], device: device))
            w.CopyFrom(z);
        Ref.Throws<InvalidOperationException>(() => loss.Backward(),
            "backward:", "modified by an inplace operation", "[3, 2] float32", "saved by 'mul'", "is at version 1; expected version 0");
        Assert.That(x.Grad, Is.Null, "a refused Backward adds no gradient");
        Assert.That(w.Grad, Is.Null, "a refused Backward adds no gradient");
    }

    [Test]
    public void WriteThroughAnotherViewOfSavedMemoryIsDetected()
    {
        using var x = Leaf([2, 3], 3);
        using var b = Leaf([3, 2], 4, requiresGrad: false);
        using var bt = b.Transpose(0, 1);   // a view: shares b's storage
        using var y = x * bt;               // saves the view
        using var loss = y.Sum();
        using (var ones = Tensor.Ones([3, 2], device: device))
            b.CopyFrom(ones);               // b needs no gradient: allowed while recording
        Ref.Throws<InvalidOperationException>(() => loss.Backward(), "modified by an inplace operation", "saved by 'mul'");
    }

    [Test]
    public void OptimizerStepBeforeBackwardMakesBackwardThrow()
    {
        using var x = Leaf([4, 3], 5, requiresGrad: false);
        using var w = Leaf([3, 2], 6);
        using var optimizer = new Sgd([w], learningRate: 0.1);
        using (var first = x.MatMul(w).Sum()) first.Backward();   // gives w a gradient to step with
        using var second = x.MatMul(w).Sum();
        optimizer.Step();                                          // changes w before second's backward
        Ref.Throws<InvalidOperationException>(() => second.Backward(), "modified by an inplace operation", "saved by 'matmul'");
    }

    [Test]
    public void StepAfterBackwardKeepsTraining()
    {
        using var x = Leaf([4, 3], 7, requiresGrad: false);
        using var w = Leaf([3, 2], 8);
        using var optimizer = new Sgd([w], learningRate: 0.1);
        for (int step = 0; step < 3; step++)
        {
            optimizer.ZeroGrad();
            using var loss = x.MatMul(w).Square().Sum();
            loss.Backward();
            optimizer.Step();
        }
        Assert.That(w.Grad, Is.Not.Null);
    }

    [Test]
    public void CopyFromIntoLeafThatRequiresGradWhileRecordingIsRefused()
    {
        using var w = Leaf([2], 9);
        var before = w.ToDoubleArray();
        using var z = Tensor.Zeros([2], device: device);
        Ref.Throws<InvalidOperationException>(() => w.CopyFrom(z),
            "copy_from: got a tensor [2] float32 that requires grad, written in place while the tape is recording", "Tape.NoGrad()");
        Assert.That(w.ToDoubleArray(), Is.EqualTo(before), "a refused write changes nothing");
        using (Tape.NoGrad()) w.CopyFrom(z);
        Assert.That(w.ToDoubleArray(), Is.EqualTo(new[] { 0.0, 0.0 }), "under NoGrad the write is allowed");
    }

    [Test]
    public void CopyFromIntoNonLeafThatRequiresGradWhileRecordingIsRefused()
    {
        // CopyFrom is not recorded: writing y would leave the tape describing y's old values, so
        // x's gradient would silently still be 2.
        using var x = Leaf([2], 10);
        using var y = x * 2.0;
        using var z = Tensor.Zeros([2], device: device);
        Ref.Throws<InvalidOperationException>(() => y.CopyFrom(z),
            "copy_from: got a tensor [2] float32 that requires grad, written in place while the tape is recording", "not recorded");
    }
}
