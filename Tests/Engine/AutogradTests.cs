namespace Tensorium.Tests.Engine;

[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class AutogradTests(Device device)
{
    private Tensor Leaf(params double[] values)
    {
        var t = Tensor.FromSpan<double>(values, [values.Length], device);
        t.RequiresGrad = true;
        return t;
    }

    [Test]
    public void ValueUsedTwiceAccumulates()
    {
        using var x = Leaf(1.5, -2, 3);
        using var y = x * x;
        using var s = y.Sum();
        s.Backward();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 3.0, -4, 6 }));
    }

    [Test]
    public void DiamondGraphAccumulatesThroughIntermediates()
    {
        // y = a*b + a*(a+b): dy/da = b + (a+b) + a, dy/db = a + a.
        using var a = Leaf(2);
        using var b = Leaf(5);
        using var ab = a * b;
        using var apb = a + b;
        using var right = a * apb;
        using var y = ab + right;
        using var s = y.Sum();
        s.Backward();
        Assert.That(a.Grad!.Item(), Is.EqualTo(5 + 7 + 2));
        Assert.That(b.Grad!.Item(), Is.EqualTo(4));
    }

    [Test]
    public void BackwardTwiceWithoutRetainGraphThrowsNamingTheOp()
    {
        using var x = Leaf(1, 2);
        using var y = x.Exp();
        using var s = y.Sum();
        s.Backward();
        Ref.Throws<InvalidOperationException>(() => s.Backward(), "sum", "retainGraph");
    }

    [Test]
    public void BackwardWithRetainGraphAccumulates()
    {
        using var x = Leaf(1, 2);
        using var y = x * x;
        using var s = y.Sum();
        s.Backward(retainGraph: true);
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 2.0, 4 }));
        s.Backward(retainGraph: true);
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 4.0, 8 }));
        s.Backward();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 6.0, 12 }));
    }

    [Test]
    public void WeightGradientThroughTransposeIsRowMajorAndAccumulates()
    {
        // y = x Wᵀ as a Linear layer computes it; dW = gᵀ x with g = 1 everywhere, so
        // dW[o, i] = sum over rows of x[r, i]. Backward computes it in W's own memory order.
        double[] xs = [1, 2, 3, -1, 0.5, 4, 2, -3];   // x [4, 2]
        using var x = Tensor.FromSpan<double>(xs, [4, 2], device);
        using var w = Tensor.FromSpan<double>([1, 2, 3, 4, 5, 6], [3, 2], device);
        w.RequiresGrad = true;
        using var wt = w.T;
        using var y = x.MatMul(wt);
        using var s = y.Sum();
        s.Backward(retainGraph: true);
        double[] column = [1 + 3 + 0.5 + 2, 2 - 1 + 4 - 3];
        double[] expected = [.. column, .. column, .. column];
        Assert.That(w.Grad!.Layout.IsContiguous, Is.True);
        Assert.That(w.Grad.ToArray<double>(), Is.EqualTo(expected));
        // The gradient kept as .Grad shares memory with nothing the tape saved: accumulating into it
        // leaves the retained graph usable and its second backward adds the same amount.
        s.Backward();
        Assert.That(w.Grad.ToArray<double>(), Is.EqualTo(expected.Select(v => 2 * v).ToArray()));
    }

    [Test]
    public void LeafGradientIsACopyOfAGradientTheCallerStillHolds()
    {
        using var x = Leaf(1, 2);
        using var seed = Tensor.FromSpan<double>([3, 4], [2], device);
        x.Backward(seed);
        using (Tape.NoGrad())
        using (var other = Tensor.FromSpan<double>([7, 7], [2], device))
            seed.CopyFrom(other);
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 3.0, 4 }));
    }

    [Test]
    public void LeafGradientSharesNoMemoryWithWhatACustomBackwardCapturedOrReturnedTwice()
    {
        // A custom op: output = input1 + input2, with the backward given.
        static Tensor Custom(Tensor input1, Tensor input2, Func<Tensor, Tensor[], Tensor?[]> backward)
        {
            Tensor output;
            using (Tape.NoGrad()) output = input1.Add(input2);
            return Tape.Record("custom", output, [input1, input2], backward);
        }

        // A backward that returns a tensor it captured: accumulating into a's .Grad (a second
        // backward) must leave that tensor alone.
        using var a = Leaf(1, 2);
        using var b = Leaf(3, 4);
        using var captured = Tensor.FromSpan<double>([10, 20], [2], device);
        for (int pass = 0; pass < 2; pass++)
            using (var y = Custom(a, b, (_, _) => [captured, null]))
            using (var s = y.Sum())
                s.Backward();
        Assert.That(captured.ToArray<double>(), Is.EqualTo(new[] { 10.0, 20 }));
        Assert.That(a.Grad!.ToArray<double>(), Is.EqualTo(new[] { 20.0, 40 }));

        // A backward that returns one fresh tensor for both inputs: a takes it, c = 3b holds it, and
        // d = 5a later adds into a's .Grad before c's gradient reaches b.
        using var a2 = Leaf(1, 2);
        using var b2 = Leaf(3, 4);
        using var c = b2 * 3.0;
        using var d = a2 * 5.0;
        using (var sum = Custom(a2, c, (g, _) => { var t = g * 1.0; return [t, t]; }))
        using (var product = sum * d)
        using (var total = product.Sum())
            total.Backward();
        // dL/dsum = d = [5, 10], so b2 gets 3 [5, 10]; a2 gets [5, 10] + 5 (a2 + c) = [55, 80].
        Assert.That(b2.Grad!.ToArray<double>(), Is.EqualTo(new[] { 15.0, 30 }));
        Assert.That(a2.Grad!.ToArray<double>(), Is.EqualTo(new[] { 55.0, 80 }));
    }

    [Test]
    public void LeafGradAccumulatesAcrossGraphsUntilZeroGrad()
    {
        using var x = Leaf(1, 2);
        using (var s1 = (x * 3.0).Sum()) s1.Backward();
        using (var s2 = (x * x).Sum()) s2.Backward();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 5.0, 7 }));
        x.ZeroGrad();
        Assert.That(x.Grad, Is.Null);
        using (var s3 = x.Sum()) s3.Backward();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 1.0, 1 }));
    }

    [Test]
    public void DetachStopsGradients()
    {
        using var x = Leaf(2, 3);
        using var d = x.Detach();
        Assert.That(d.RequiresGrad, Is.False);
        using var y = x * d;           // d/dx (x * const) = const
        using var s = y.Sum();
        s.Backward();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 2.0, 3 }));
        Assert.That(d.Grad, Is.Null);
    }

    [Test]
    public void NoGradRecordsNothing()
    {
        using var x = Leaf(1, 2);
        Assert.That(Tape.IsRecording, Is.True);
        using (Tape.NoGrad())
        {
            Assert.That(Tape.IsRecording, Is.False);
            using (Tape.NoGrad()) Assert.That(Tape.IsRecording, Is.False);
            Assert.That(Tape.IsRecording, Is.False, "nested scopes");
            using var y = (x * x).Sum();
            Assert.That(y.RequiresGrad, Is.False);
            Assert.That(y.Producer, Is.Null);
            Ref.Throws<InvalidOperationException>(() => y.Backward(), "backward", "require");
        }
        Assert.That(Tape.IsRecording, Is.True);
        using var z = x * x;
        Assert.That(z.RequiresGrad, Is.True);
        Assert.That(Tape.EntriesFor(z).Single().Op, Is.EqualTo("mul"));
    }

    [Test]
    public void NothingIsRecordedWithoutRequiresGrad()
    {
        using var x = Tensor.FromSpan<double>([1, 2], [2], device);
        using var y = x.Exp() * 2.0;
        Assert.That(y.RequiresGrad, Is.False);
        Assert.That(y.Producer, Is.Null);
    }

    [Test]
    public void NonScalarBackwardNeedsAGradient()
    {
        using var x = Leaf(1, 2, 3);
        using var y = x * 2.0;
        Ref.Throws<InvalidOperationException>(() => y.Backward(), "backward", "[3]");
    }

    [Test]
    public void ExplicitGradientForNonScalar()
    {
        using var x = Leaf(1, 2, 3);
        using var y = x * x;
        using var g = Tensor.FromSpan<double>([1, 10, 100], [3], device);
        y.Backward(g);
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 2.0, 40, 600 }));
        using var y2 = x * 1.0;
        using var wrong = Tensor.Zeros([2], DType.Float64, device);
        Ref.Throws<ArgumentException>(() => y2.Backward(wrong), "backward", "[2]", "[3]");
    }

    [Test]
    public void BackwardOnALeafScalar()
    {
        using var x = Tensor.Scalar(3, DType.Float64, device);
        x.RequiresGrad = true;
        x.Backward();
        Assert.That(x.Grad!.Item(), Is.EqualTo(1));
    }

    [Test]
    public void DisposingAnIntermediateBeforeBackwardKeepsTheGraph()
    {
        using var x = Leaf(1, 2);
        Tensor s;
        using (var h = x * x)          // the intermediate's handle goes away before Backward
            s = (h * 3.0).Sum();
        s.Backward();
        s.Dispose();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 6.0, 12 }));
    }

    [Test]
    public void TapeFormatListsEntriesInOrder()
    {
        using var w = Tensor.FromSpan<double>([1, 2, 3, 4, 5, 6], [2, 3], device);
        w.RequiresGrad = true;
        w.Name = "w";
        using var x = Tensor.FromSpan<double>([1, 1, 1], [3], device);
        using var h = w.MatMul(x);
        using var a = h.Tanh();
        using var s = a.Sum();
        var entries = Tape.EntriesFor(s);
        Assert.That(entries.Select(e => e.Op), Is.EqualTo(new[] { "matmul", "tanh", "sum" }));
        Assert.That(entries.Select(e => e.Id), Is.Ordered.Ascending);
        var text = Tape.Format(s);
        var lines = text.Split(Environment.NewLine);
        Assert.That(lines, Has.Length.EqualTo(3));
        Assert.That(lines[0], Does.Contain("matmul").And.Contain("w[2, 3]").And.Contain("leaf[3]").And.Contain("-> [2]"));
        Assert.That(lines[1], Does.Contain("tanh").And.Contain($"#{entries[0].Id}[2]"));
        Assert.That(lines[2], Does.Contain("sum").And.Contain("-> []"));
        s.Backward();
    }

    [Test]
    public void GradCheckDetectsAWrongGradient()
    {
        // A deliberately wrong backward (claims d/dx x^2 = x) must be caught: the checker can fail.
        Func<Tensor[], Tensor> f = xs =>
        {
            var y = xs[0].Detach() * xs[0].Detach();
            return Tape.Record("bad_square", y, [xs[0]], (g, s) => [g * s[0]], xs[0]);
        };
        var problem = GradCheck.Check(f, [Ref.Leaf([3], device)]);
        Assert.That(problem, Does.Contain("analytic").And.Contain("numeric"));
    }

    [Test]
    public void GradCheckOnASampleChecksBothEndsOfEachInput()
    {
        // A backward that is wrong only for the last element: a two-element sample must still see it.
        Func<Tensor[], Tensor> f = xs =>
        {
            var y = xs[0].Detach() * 3.0;
            return Tape.Record("bad_last", y, [xs[0]], (g, s) =>
            {
                var scale = Tensor.FromSpan<double>([3, 3, 3, 3, 3, 3, 4], [7], g.Device);
                return [g * scale];
            }, xs[0]);
        };
        var problem = GradCheck.Check(f, [Ref.Leaf([7], device)], elementsPerInput: 2);
        Assert.That(problem, Does.Contain("element 6"));
        Assert.That(GradCheck.Check(t => t[0] * 3.0, [Ref.Leaf([7], device)], elementsPerInput: 3), Is.Null);
        Assert.Throws<ArgumentOutOfRangeException>(() => GradCheck.Check(t => t[0] * 3.0, [Ref.Leaf([7], device)], elementsPerInput: 0));
    }

    [Test]
    public void SumToKeepsTheGraphWhenShapesMatch()
    {
        using var x = Leaf(1, 2);
        using var same = x.SumTo([2]);
        Assert.That(same.RequiresGrad, Is.True);
        using var down = (x * 1.0).SumTo([1]);
        Assert.That(down.ToDoubleArray(), Is.EqualTo(new[] { 3.0 }));
        Reference.AssertGradients(t => t[0].SumTo([3, 1]) * t[0].SumTo([3, 4]), Ref.Leaf([2, 3, 4], device));
    }
}
