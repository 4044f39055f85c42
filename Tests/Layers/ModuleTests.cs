using Tensorium.Layers;

namespace Tensorium.Tests.Layers;

/// <summary>The Module base and the basic layers: shapes, parameters, modes, state dicts, freezing, summaries, gradients.</summary>
public class ModuleTests
{
    private static Sequential Net() => new(
        new Conv2d(2, 3, 3, padding: Padding.Same, generator: new Generator(1)), new ReLU(), new MaxPool2d(2),
        new Flatten(), new Linear(3 * 2 * 2, 4, generator: new Generator(2)));

    [Test]
    public void ParametersHaveDottedNamesAndShapes()
    {
        using var net = Net();
        var names = net.NamedParameters().Select(p => $"{p.Name}{Layout.Format(p.Parameter.Layout.Shape)}").ToArray();
        Assert.That(names, Is.EqualTo(new[] { "0.weight[3, 2, 3, 3]", "0.bias[3]", "4.weight[4, 12]", "4.bias[4]" }));
        Assert.That(net.ParameterCount(), Is.EqualTo(3 * 2 * 9 + 3 + 48 + 4));
        Assert.That(net.Parameters().All(p => p.RequiresGrad));
    }

    [Test]
    public void LinearMatchesXWtPlusB()
    {
        using var layer = new Linear(3, 2, generator: new Generator(5));
        using var x = Reference.Random([4, 3], Device.Cpu, 6);
        using var y = layer.Forward(x);
        var w = layer.Weight.ToDoubleArray(); var b = layer.Bias!.ToDoubleArray(); var xs = x.ToDoubleArray();
        var expected = Enumerable.Range(0, 8).Select(i => b[i % 2] + Enumerable.Range(0, 3).Sum(k => xs[i / 2 * 3 + k] * w[i % 2 * 3 + k])).ToArray();
        Reference.AssertClose(y.ToDoubleArray(), expected, 1e-6, 1e-5, "linear");
        double bound = 1 / Math.Sqrt(3);
        Assert.That(w.Concat(b).All(v => Math.Abs(v) <= bound), "PyTorch's U(-1/sqrt(in), 1/sqrt(in)) init");
    }

    [Test]
    public void WholeNetworkGradientCheckInFloat64()
    {
        using var net = Net();
        net.To(DType.Float64);
        using var x = Reference.Leaf([2, 2, 4, 4], 7);
        // Check the input gradient through every layer, then each parameter's gradient numerically.
        Reference.AssertGradients(t => net.Forward(t[0]), x);
        foreach (var (name, p) in net.NamedParameters())
        {
            var values = p.ToArray<double>();
            // Compare p.Grad with central finite differences of the loss in that parameter.
            net.ZeroGrad();
            using (var loss = net.Forward(x).Sum()) loss.Backward();
            var analytic = p.Grad!.ToArray<double>();
            for (int i = 0; i < values.Length; i++)
            {
                double Loss(double v)
                {
                    var copy = (double[])values.Clone(); copy[i] = v;
                    using (Tape.NoGrad())
                    {
                        using var t = Tensor.FromArray(copy, p.Shape);
                        p.CopyFrom(t);
                        using var y = net.Forward(x);
                        using var s = y.Sum();
                        return s.Item();
                    }
                }
                double numeric = (Loss(values[i] + 1e-6) - Loss(values[i] - 1e-6)) / 2e-6;
                Assert.That(analytic[i], Is.EqualTo(numeric).Within(1e-5 + 1e-4 * Math.Abs(numeric)), $"{name}[{i}]");
            }
            using var original = Tensor.FromArray(values, p.Shape);
            using (Tape.NoGrad()) p.CopyFrom(original);
        }
    }

    [Test]
    public void DropoutDropsInTrainingAndIsIdentityInEval()
    {
        using var dropout = new Dropout(0.5, new Generator(9));
        using var x = Tensor.Ones([1000]);
        using var train = dropout.Forward(x);
        var v = train.ToDoubleArray();
        Assert.That(v.All(e => e == 0 || e == 2), "kept values are scaled by 1/(1-p)");
        Assert.That(v.Count(e => e == 0), Is.InRange(400, 600));
        dropout.Eval();
        using var eval = dropout.Forward(x);
        Assert.That(eval.ToDoubleArray(), Is.All.EqualTo(1));
    }

    [Test]
    public void PaddingConvertsFromNumbersAndResolvesSameForTheOpToo()
    {
        Assert.That((Padding)1, Is.EqualTo(Padding.Symmetric(1, 1)));
        Assert.That((Padding)(1, 2), Is.EqualTo(Padding.Symmetric(1, 2)));
        Assert.That((Padding)0, Is.EqualTo(Padding.Valid));
        Assert.That(Padding.Same.Resolve("op", (5, 3), (1, 2)), Is.EqualTo((2, 2)));
        Assert.Throws<ArgumentException>(() => Padding.Same.Resolve("op", (2, 3), (1, 1)));
        using var x = Tensor.Uniform([1, 2, 7, 9]);
        using var w = Tensor.Uniform([3, 2, 3, 3]);
        using var same = x.Conv2d(w, padding: Padding.Same);
        using var one = x.Conv2d(w, padding: 1);
        Assert.That(same.ToArray<float>(), Is.EqualTo(one.ToArray<float>()));
        Assert.Throws<ArgumentException>(() => x.Conv2d(w, stride: 2, padding: Padding.Same));
    }

    [Test]
    public void ConvSamePaddingKeepsSizeAndRejectsStride()
    {
        using var conv = new Conv2d(1, 2, 5, padding: Padding.Same);
        using var x = Tensor.Zeros([1, 1, 7, 9]);
        using var y = conv.Forward(x);
        Assert.That(y.Shape, Is.EqualTo(new[] { 1, 2, 7, 9 }));
        Assert.Throws<ArgumentException>(() => new Conv2d(1, 2, 3, stride: 2, padding: Padding.Same));
        var e = Assert.Throws<ArgumentException>(() => new Linear(3, 2).Forward(Tensor.Zeros([4, 5])));
        Assert.That(e!.Message, Does.Contain("Linear").And.Contain("[4, 5]"));
    }

    [Test]
    public void FreezeStopsGradientsAndStateDictRoundTrips()
    {
        using var a = Net();
        using var b = Net();
        using (var x = Reference.Random([1, 2, 4, 4], Device.Cpu, 3))
        {
            ((Conv2d)a[0]).Freeze();
            using var loss = a.Forward(x).Sum();
            loss.Backward();
            Assert.That(a[0].Parameters().All(p => p.Grad == null), "frozen layer gets no gradient");
            Assert.That(a[4].Parameters().All(p => p.Grad != null));
            Assert.That(a.ParameterCount(trainableOnly: true), Is.EqualTo(52));
        }
        var state = a.StateDict();
        using (Tape.NoGrad()) a[4].Parameters().First().CopyFrom(Tensor.Full([4, 12], 0.25));
        b.LoadStateDict(a.StateDict());
        Assert.That(b[4].Parameters().First().ToDoubleArray(), Is.All.EqualTo(0.25));
        foreach (var t in state.Values) t.Dispose();

        var wrong = new Dictionary<string, Tensor> { ["4.weight"] = Tensor.Zeros([3, 12]) };
        var before = b[4].Parameters().First().ToDoubleArray();
        var e = Assert.Throws<ArgumentException>(() => b.LoadStateDict(wrong, strict: false));
        Assert.That(e!.Message, Does.Contain("4.weight").And.Contain("[3, 12]"));
        Assert.That(b[4].Parameters().First().ToDoubleArray(), Is.EqualTo(before), "a rejected load changes nothing");
    }

    /// <summary>
    /// A layer that throws part-way through a Sequential used to strand the previous layer's
    /// output (nothing disposed it; only the finalizer would). Counted without a GC, so the
    /// finalizer cannot hide it, and under NoGrad, as a recorded graph that the failure abandons
    /// holds its saved tensors until it is collected.
    /// </summary>
    [Test, NonParallelizable]
    public void SequentialThatFailsInALaterLayerFreesTheIntermediates()
    {
        using var net = new Sequential(new Linear(4, 3), new ReLU(), new Linear(5, 2));
        using var x = Tensor.Ones([2, 4]);
        long before = Reference.SettledLiveBuffers();
        using (Tape.NoGrad()) Ref.Throws<ArgumentException>(() => net.Forward(x), "Linear", "[2, 3]");
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before), "intermediate activations were freed");
    }

    /// <summary>
    /// Sequential.Replace with an index past the end was List's bare "Index was out of range";
    /// replacing a layer by itself disposed the layer it had just installed.
    /// </summary>
    [Test]
    public void SequentialReplaceNamesABadIndexAndKeepsALayerReplacedByItself()
    {
        using var net = new Sequential(new Linear(2, 2, generator: new Generator(1)));
        Ref.Throws<ArgumentOutOfRangeException>(() => net.Replace(1, new ReLU()), "Sequential", "1", "1 layer");
        Ref.Throws<ArgumentOutOfRangeException>(() => _ = net[-1], "Sequential", "-1");
        var layer = (Linear)net[0];
        net.Replace(0, layer);
        Assert.That(layer.Weight.IsDisposed, Is.False, "the layer still in use is not disposed");
        using var y = net.Forward(Tensor.Ones([1, 2]));
        Assert.That(y.Shape, Is.EqualTo(new[] { 1, 2 }));
    }

    /// <summary>
    /// Linear and Conv2d left a wrong input dtype or device to the op underneath ("matmul: dtypes
    /// differ (int64 and float32)"), which names neither the layer nor what it expected.
    /// </summary>
    [Test, NonParallelizable]
    public void LinearAndConvNameAnInputOfAnotherDTypeOrDevice()
    {
        using var scope = new TensorScope();
        using var linear = new Linear(4, 2);
        using var conv = new Conv2d(2, 3, 3);
        Ref.Throws<ArgumentException>(() => linear.Forward(Tensor.Ones([1, 4], DType.Int64)), "Linear", "int64", "float32");
        Ref.Throws<ArgumentException>(() => linear.Forward(Tensor.Ones([1, 4], DType.Float32, Device.Emulated)), "Linear", "emulated", "cpu");
        Ref.Throws<ArgumentException>(() => conv.Forward(Tensor.Ones([1, 2, 5, 5], DType.Float64)), "Conv2d", "float64", "float32");
    }

    /// <summary>A null tensor in a state dict was a NullReferenceException from inside LoadStateDict.</summary>
    [Test]
    public void LoadStateDictNamesANullEntryAndChangesNothing()
    {
        using var a = new Linear(2, 2, generator: new Generator(1));
        using var b = new Linear(2, 2, generator: new Generator(2));
        var before = b.Weight.ToDoubleArray();
        var state = new Dictionary<string, Tensor> { ["weight"] = a.Weight.Detach(), ["bias"] = null! };
        Ref.Throws<ArgumentException>(() => b.LoadStateDict(state), "load_state_dict", "'bias'", "null");
        Ref.Throws<ArgumentException>(() => b.LoadStateDict(state, strict: false), "'bias'", "null");
        Assert.That(b.Weight.ToDoubleArray(), Is.EqualTo(before), "a rejected load changes nothing");
        state["weight"].Dispose();
        Assert.Throws<ArgumentNullException>(() => b.LoadStateDict(null!));
    }

    [Test]
    public void SummaryListsLayersShapesAndCounts()
    {
        using var net = Net();
        string summary = net.Summary(1, 2, 4, 4);
        Assert.That(summary, Does.Contain("(Conv2d)").And.Contain("(None, 3, 4, 4)").And.Contain("(None, 12)").And.Contain("Total params: 109"));
    }
}
