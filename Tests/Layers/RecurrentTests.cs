using Tensorium.Kernels.Cpu;
using Tensorium.Layers;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Layers;

/// <summary>
/// SimpleRnn, Lstm and Gru: shapes and PyTorch parameter layout, the fused kernels against a
/// step-by-step reference built from plain tensor ops (matmul, sigmoid, tanh, narrow), float64
/// gradient checks of whole stacks, state consistency, errors, and a tiny task that trains.
/// </summary>
public class RecurrentTests
{
    private static readonly RecurrentCell[] Cells = [RecurrentCell.Tanh, RecurrentCell.Lstm, RecurrentCell.Gru];

    private static int Gates(RecurrentCell cell) => cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };

    private static RecurrentLayer Make(RecurrentCell cell, int input, int hidden, int layers = 1, bool bias = true, bool returnSequences = true) => cell switch
    {
        RecurrentCell.Lstm => new Lstm(input, hidden, layers, bias, returnSequences, generator: new Generator(7)),
        RecurrentCell.Gru => new Gru(input, hidden, layers, bias, returnSequences, generator: new Generator(7)),
        _ => new SimpleRnn(input, hidden, layers, bias, returnSequences, generator: new Generator(7)),
    };

    private static RecurrentOutput RunModule(RecurrentLayer layer, Tensor x, Tensor? h0, Tensor? c0) => layer switch
    {
        Lstm l => l.Forward(x, h0, c0),
        Gru g => g.Forward(x, h0),
        SimpleRnn r => r.Forward(x, h0),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>
    /// The reference: each step written out with tensor ops, straight from the PyTorch docs
    /// (gate blocks cut from the weight rows with Narrow). Returns output, h_n, c_n (or null).
    /// </summary>
    private static (Tensor Output, Tensor Hidden, Tensor? Cell) ReferenceStack(RecurrentCell cell, Tensor x, Tensor? h0, Tensor? c0, IReadOnlyList<RecurrentWeights> layers)
    {
        int batch = x.Size(0), steps = x.Size(1), hidden = layers[0].WeightHh.Size(1);
        var hs = new List<Tensor>();
        var cs = new List<Tensor>();
        var layerInput = x;
        for (int k = 0; k < layers.Count; k++)
        {
            var w = layers[k];
            var h = h0 != null ? h0.Narrow(0, k, 1).Reshape(batch, hidden) : Tensor.Zeros([batch, hidden], x.DType);
            var c = c0 != null ? c0.Narrow(0, k, 1).Reshape(batch, hidden) : Tensor.Zeros([batch, hidden], x.DType);
            var outs = new List<Tensor>();
            for (int t = 0; t < steps; t++)
            {
                var xt = layerInput.Narrow(1, t, 1).Reshape(batch, layerInput.Size(2));
                var gi = xt.MatMul(w.WeightIh.T);
                var gh = h.MatMul(w.WeightHh.T);
                if (w.BiasIh != null) gi = gi + w.BiasIh;
                if (w.BiasHh != null) gh = gh + w.BiasHh;
                Tensor Block(Tensor g, int j) => g.Narrow(1, j * hidden, hidden);
                switch (cell)
                {
                    case RecurrentCell.Lstm:
                        var i = (Block(gi, 0) + Block(gh, 0)).Sigmoid();
                        var f = (Block(gi, 1) + Block(gh, 1)).Sigmoid();
                        var gg = (Block(gi, 2) + Block(gh, 2)).Tanh();
                        var o = (Block(gi, 3) + Block(gh, 3)).Sigmoid();
                        c = f * c + i * gg;
                        h = o * c.Tanh();
                        break;
                    case RecurrentCell.Gru:
                        var r = (Block(gi, 0) + Block(gh, 0)).Sigmoid();
                        var z = (Block(gi, 1) + Block(gh, 1)).Sigmoid();
                        var n = (Block(gi, 2) + r * Block(gh, 2)).Tanh();
                        h = (1.0 - z) * n + z * h;
                        break;
                    default:
                        h = (gi + gh).Tanh();
                        break;
                }
                outs.Add(h);
            }
            layerInput = Joining.Stack(outs, 1);
            hs.Add(h);
            cs.Add(c);
        }
        return (layerInput, Joining.Stack(hs, 0), cell == RecurrentCell.Lstm ? Joining.Stack(cs, 0) : null);
    }

    private static List<RecurrentWeights> Weights(RecurrentLayer layer) =>
        Enumerable.Range(0, layer.NumLayers).Select(layer.LayerWeights).ToList();

    private static void AssertMatchesReference(RecurrentCell cell, int batch, int steps, int input, int hidden, int layers, bool withStates, double atol)
    {
        using var scope = new TensorScope();
        using var layer = Make(cell, input, hidden, layers);
        var x = Reference.Random([batch, steps, input], Device.Cpu, 11);
        var h0 = withStates ? Reference.Random([layers, batch, hidden], Device.Cpu, 12) : null;
        var c0 = withStates && cell == RecurrentCell.Lstm ? Reference.Random([layers, batch, hidden], Device.Cpu, 13) : null;
        var actual = RunModule(layer, x, h0, c0);
        var expected = ReferenceStack(cell, x, h0, c0, Weights(layer));
        Assert.That(actual.Output.Shape, Is.EqualTo(new[] { batch, steps, hidden }));
        Reference.AssertClose(actual.Output.ToDoubleArray(), expected.Output.ToDoubleArray(), atol, 1e-4, $"{cell} output");
        Reference.AssertClose(actual.Hidden.ToDoubleArray(), expected.Hidden.ToDoubleArray(), atol, 1e-4, $"{cell} h_n");
        if (cell == RecurrentCell.Lstm)
            Reference.AssertClose(actual.Cell!.ToDoubleArray(), expected.Cell!.ToDoubleArray(), atol, 1e-4, $"{cell} c_n");
        else
            Assert.That(actual.Cell, Is.Null);
    }

    // ---- Shapes and parameters ------------------------------------------------------------------

    [TestCaseSource(nameof(Cells))]
    public void ShapesOfOutputAndStates(RecurrentCell cell)
    {
        using var scope = new TensorScope();
        using var layer = Make(cell, 5, 7, layers: 2);
        var x = Reference.Random([3, 4, 5], Device.Cpu);
        using var result = RunModule(layer, x, null, null);
        Assert.That(result.Output.Shape, Is.EqualTo(new[] { 3, 4, 7 }));
        Assert.That(result.Hidden.Shape, Is.EqualTo(new[] { 2, 3, 7 }));
        if (cell == RecurrentCell.Lstm) Assert.That(result.Cell!.Shape, Is.EqualTo(new[] { 2, 3, 7 }));
        else Assert.That(result.Cell, Is.Null);
        Assert.That(layer.Forward(x).Shape, Is.EqualTo(new[] { 3, 4, 7 }));
        layer.ReturnSequences = false;
        Assert.That(layer.Forward(x).Shape, Is.EqualTo(new[] { 3, 7 }));
    }

    [TestCaseSource(nameof(Cells))]
    public void ParametersUsePyTorchNamesLayoutAndInit(RecurrentCell cell)
    {
        using var layer = Make(cell, 5, 6, layers: 2);
        int g = Gates(cell) * 6;
        var expected = new (string, int[])[]
        {
            ("weight_ih_l0", [g, 5]), ("weight_hh_l0", [g, 6]), ("bias_ih_l0", [g]), ("bias_hh_l0", [g]),
            ("weight_ih_l1", [g, 6]), ("weight_hh_l1", [g, 6]), ("bias_ih_l1", [g]), ("bias_hh_l1", [g]),
        };
        var actual = layer.NamedParameters().ToList();
        Assert.That(actual.Select(p => p.Name), Is.EqualTo(expected.Select(e => e.Item1)));
        double bound = 1 / Math.Sqrt(6);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.That(actual[i].Parameter.Shape, Is.EqualTo(expected[i].Item2), expected[i].Item1);
            var v = actual[i].Parameter.ToDoubleArray();
            Assert.That(v.All(a => Math.Abs(a) <= bound), $"{expected[i].Item1} outside U(±1/sqrt(H))");
            Assert.That(v.Max() - v.Min(), Is.GreaterThan(bound), $"{expected[i].Item1} looks constant");
        }
        using var noBias = Make(cell, 5, 6, bias: false);
        Assert.That(noBias.NamedParameters().Select(p => p.Name), Is.EqualTo(new[] { "weight_ih_l0", "weight_hh_l0" }));
    }

    // ---- Against the step-by-step reference ----------------------------------------------------

    [TestCaseSource(nameof(Cells))]
    public void OneLayerMatchesStepByStepReference(RecurrentCell cell) =>
        AssertMatchesReference(cell, batch: 2, steps: 5, input: 3, hidden: 4, layers: 1, withStates: false, atol: 1e-5);

    [TestCaseSource(nameof(Cells))]
    public void TwoLayersWithInitialStatesMatchReference(RecurrentCell cell) =>
        AssertMatchesReference(cell, batch: 3, steps: 4, input: 5, hidden: 6, layers: 2, withStates: true, atol: 1e-5);

    [TestCaseSource(nameof(Cells))]
    public void LargerBatchSplitAcrossThreadsMatchesReference(RecurrentCell cell) =>
        AssertMatchesReference(cell, batch: 70, steps: 3, input: 9, hidden: 48, layers: 1, withStates: true, atol: 1e-4);

    [TestCaseSource(nameof(Cells))]
    public void WithoutBiasMatchesReference(RecurrentCell cell)
    {
        using var scope = new TensorScope();
        using var layer = Make(cell, 3, 4, bias: false);
        var x = Reference.Random([2, 3, 3], Device.Cpu, 5);
        var actual = RunModule(layer, x, null, null);
        var expected = ReferenceStack(cell, x, null, null, Weights(layer));
        Reference.AssertClose(actual.Output.ToDoubleArray(), expected.Output.ToDoubleArray(), 1e-5, 1e-4, $"{cell} output");
    }

    [TestCaseSource(nameof(Cells))]
    public void GradientsMatchReferenceGraphInFloat32(RecurrentCell cell)
    {
        // The fused backward against autograd through the reference's hundreds of small ops.
        using var scope = new TensorScope();
        using var layer = Make(cell, 3, 5, layers: 2);
        var x = Reference.Random([4, 6, 3], Device.Cpu, 3);
        x.RequiresGrad = true;
        var r = RunModule(layer, x, null, null);
        (r.Output.Square().Sum() + r.Hidden.Sum()).Backward();
        var fused = layer.Parameters().Select(p => p.Grad!.ToDoubleArray()).Append(x.Grad!.ToDoubleArray()).ToList();
        layer.ZeroGrad();
        x.ZeroGrad();
        var e = ReferenceStack(cell, x, null, null, Weights(layer));
        (e.Output.Square().Sum() + e.Hidden.Sum()).Backward();
        var reference = layer.Parameters().Select(p => p.Grad!.ToDoubleArray()).Append(x.Grad!.ToDoubleArray()).ToList();
        for (int i = 0; i < fused.Count; i++)
            Reference.AssertClose(fused[i], reference[i], 1e-5, 1e-3, $"{cell} gradient {i}");
    }

    // ---- Float64 gradient checks of whole stacks ----------------------------------------------

    private static Tensor[] GradCheckInputs(RecurrentCell cell, int batch, int steps, int input, int hidden, int layers, bool bias, bool states)
    {
        var list = new List<Tensor> { Reference.Leaf([batch, steps, input], 1) };
        if (states)
        {
            list.Add(Reference.Leaf([layers, batch, hidden], 2));
            if (cell == RecurrentCell.Lstm) list.Add(Reference.Leaf([layers, batch, hidden], 3));
        }
        int g = Gates(cell) * hidden, seed = 10;
        for (int k = 0; k < layers; k++)
        {
            list.Add(Reference.Leaf([g, k == 0 ? input : hidden], seed++, 0.7));
            list.Add(Reference.Leaf([g, hidden], seed++, 0.7));
            if (bias)
            {
                list.Add(Reference.Leaf([g], seed++, 0.5));
                list.Add(Reference.Leaf([g], seed++, 0.5));
            }
        }
        return list.ToArray();
    }

    /// <summary>The stack as a function of its inputs; all outputs (sequence, h_n, c_n) are concatenated so each is checked.</summary>
    private static Func<Tensor[], Tensor> StackFunction(RecurrentCell cell, int layers, bool bias, bool states) => t =>
    {
        int i = 1;
        Tensor? h0 = states ? t[i++] : null;
        Tensor? c0 = states && cell == RecurrentCell.Lstm ? t[i++] : null;
        var w = new List<RecurrentWeights>();
        for (int k = 0; k < layers; k++)
        {
            var wih = t[i++]; var whh = t[i++];
            w.Add(bias ? new RecurrentWeights(wih, whh, t[i++], t[i++]) : new RecurrentWeights(wih, whh, null, null));
        }
        var r = RecurrentLayer.Run(cell, t[0], h0, c0, w);
        var parts = new List<Tensor> { r.Output.Reshape(-1), r.Hidden.Reshape(-1) };
        if (r.Cell != null) parts.Add(r.Cell.Reshape(-1));
        return Joining.Concat(parts, 0);
    };

    [TestCaseSource(nameof(Cells))]
    public void TwoLayerStackGradCheckInFloat64(RecurrentCell cell) =>
        Reference.AssertGradients(StackFunction(cell, 2, true, true), GradCheckInputs(cell, 2, 3, 3, 2, 2, true, true));

    [TestCaseSource(nameof(Cells))]
    public void NoBiasZeroStateGradCheckInFloat64(RecurrentCell cell) =>
        Reference.AssertGradients(StackFunction(cell, 1, false, false), GradCheckInputs(cell, 3, 4, 2, 3, 1, false, false));

    // ---- Consistency --------------------------------------------------------------------------

    [TestCaseSource(nameof(Cells))]
    public void LastStepOfSequenceEqualsLastHiddenState(RecurrentCell cell)
    {
        using var scope = new TensorScope();
        using var layer = Make(cell, 4, 5, layers: 2);
        var x = Reference.Random([3, 6, 4], Device.Cpu, 9);
        var r = RunModule(layer, x, null, null);
        var lastStep = r.Output.Narrow(1, 5, 1).Reshape(3, 5);
        var topHidden = r.Hidden.Narrow(0, 1, 1).Reshape(3, 5);
        Assert.That(lastStep.ToDoubleArray(), Is.EqualTo(topHidden.ToDoubleArray()));
        layer.ReturnSequences = false;
        Assert.That(layer.Forward(x).ToDoubleArray(), Is.EqualTo(topHidden.ToDoubleArray()));
    }

    [TestCaseSource(nameof(Cells))]
    public void RunningInTwoHalvesWithCarriedStatesEqualsOneRun(RecurrentCell cell)
    {
        using var scope = new TensorScope();
        using var layer = Make(cell, 3, 4, layers: 2);
        var x = Reference.Random([2, 6, 3], Device.Cpu, 4);
        var whole = RunModule(layer, x, null, null);
        var first = RunModule(layer, x.Narrow(1, 0, 4), null, null);
        var second = RunModule(layer, x.Narrow(1, 4, 2), first.Hidden, first.Cell);
        Reference.AssertClose(second.Output.ToDoubleArray(), whole.Output.Narrow(1, 4, 2).ToDoubleArray(), 1e-6, 1e-5, "second half");
        Reference.AssertClose(second.Hidden.ToDoubleArray(), whole.Hidden.ToDoubleArray(), 1e-6, 1e-5, "h_n");
        if (cell == RecurrentCell.Lstm)
            Reference.AssertClose(second.Cell!.ToDoubleArray(), whole.Cell!.ToDoubleArray(), 1e-6, 1e-5, "c_n");
    }

    [TestCaseSource(nameof(Cells))]
    public void EachLayerIsOneTapeEntry(RecurrentCell cell)
    {
        using var scope = new TensorScope();
        using var layer = Make(cell, 3, 4, layers: 2);
        var x = Reference.Random([2, 28, 3], Device.Cpu, 4);
        var y = layer.Forward(x);
        var entries = Tape.EntriesFor(y);
        string op = cell switch { RecurrentCell.Lstm => "lstm", RecurrentCell.Gru => "gru", _ => "rnn_tanh" };
        Assert.That(entries.Count(e => e.Op == op), Is.EqualTo(2), Tape.Format(y));
        Assert.That(entries.Count, Is.LessThan(10), Tape.Format(y));
    }

    [Test]
    public void NoGradForwardRecordsNothingAndFreesItsCache()
    {
        using var layer = new Lstm(3, 4);
        using var x = Reference.Random([2, 5, 3], Device.Cpu);
        long before = Reference.SettledLiveBuffers();
        using (Tape.NoGrad())
        using (var y = layer.Forward(x))
            Assert.That(y.Producer, Is.Null);
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before));
    }

    [Test]
    public void ForwardAndBackwardLeaveNoBuffersBehind()
    {
        using var layer = new Lstm(3, 4, numLayers: 2);
        using var x = Reference.Random([2, 5, 3], Device.Cpu);
        long before = Reference.SettledLiveBuffers();
        using (new TensorScope())
        {
            var r = layer.Forward(x, null, null);
            (r.Output.Sum() + r.Cell!.Sum()).Backward();
        }
        layer.ZeroGrad();
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before));
    }

    [Test]
    public void DropoutActsBetweenLayersOnlyInTraining()
    {
        using var scope = new TensorScope();
        using var layer = new Gru(3, 16, numLayers: 2, dropout: 0.5, generator: new Generator(1));
        var x = Reference.Random([4, 5, 3], Device.Cpu, 2);
        var training = layer.Forward(x).ToDoubleArray();
        layer.Eval();
        var eval = layer.Forward(x);
        var expected = ReferenceStack(RecurrentCell.Gru, x, null, null, Weights(layer)).Output;
        Reference.AssertClose(eval.ToDoubleArray(), expected.ToDoubleArray(), 1e-5, 1e-4, "eval mode has no dropout");
        Assert.That(training, Is.Not.EqualTo(eval.ToDoubleArray()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Lstm(3, 4, dropout: 1));
    }

    // ---- Errors -------------------------------------------------------------------------------

    [Test]
    public void WrongFeatureCountNamesLayerAndShapes()
    {
        using var layer = new Lstm(28, 16);
        using var x = Tensor.Zeros([4, 10, 27]);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(x));
        Assert.That(e!.Message, Does.Contain("Lstm").And.Contain("[4, 10, 27]").And.Contain("[batch, time, 28]"));
    }

    [Test]
    public void UnbatchedInputIsRejected()
    {
        using var layer = new Gru(3, 4);
        using var x = Tensor.Zeros([10, 3]);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(x));
        Assert.That(e!.Message, Does.Contain("Gru").And.Contain("[10, 3]"));
    }

    [Test]
    public void WrongInitialStateShapeIsRejected()
    {
        using var layer = new Lstm(3, 4, numLayers: 2);
        using var x = Tensor.Zeros([5, 6, 3]);
        using var h0 = Tensor.Zeros([5, 4]);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(x, h0, null));
        Assert.That(e!.Message, Does.Contain("Lstm").And.Contain("h0").And.Contain("[2, 5, 4]").And.Contain("[5, 4]"));
        using var goodH = Tensor.Zeros([2, 5, 4]);
        using var badC = Tensor.Zeros([2, 5, 3]);
        e = Assert.Throws<ArgumentException>(() => layer.Forward(x, goodH, badC));
        Assert.That(e!.Message, Does.Contain("c0").And.Contain("[2, 5, 3]"));
    }

    [Test]
    public void EmptySequenceAndDTypeMismatchAreRejected()
    {
        using var layer = new SimpleRnn(3, 4);
        using var empty = Tensor.Zeros([2, 0, 3]);
        Assert.That(Assert.Throws<ArgumentException>(() => layer.Forward(empty))!.Message, Does.Contain("SimpleRnn").And.Contain("[2, 0, 3]"));
        using var doubles = Tensor.Zeros([2, 4, 3], DType.Float64);
        Assert.That(Assert.Throws<ArgumentException>(() => layer.Forward(doubles))!.Message, Does.Contain("float64").And.Contain("float32"));
    }

    [Test]
    public void OpRejectsMisshapenWeights()
    {
        using var x = Tensor.Zeros([2, 3, 4]);
        using var h0 = Tensor.Zeros([2, 5]);
        using var c0 = Tensor.Zeros([2, 5]);
        using var wih = Tensor.Zeros([15, 4]);   // 3 gates' worth for an LSTM that needs 4
        using var whh = Tensor.Zeros([20, 5]);
        var e = Assert.Throws<ArgumentException>(() => x.LstmSequence(h0, c0, wih, whh));
        Assert.That(e!.Message, Does.Contain("lstm").And.Contain("weight_ih").And.Contain("[20, 4]").And.Contain("[15, 4]"));
    }

    // ---- Training -----------------------------------------------------------------------------

    [TestCaseSource(nameof(Cells))]
    public void TinySequenceTaskTrains(RecurrentCell cell)
    {
        // Regress half the sum of each sequence from the last output: the net has to accumulate
        // over all six steps (a feed-forward look at the last step cannot). Plain SGD; the loss must drop a lot.
        using var layer = Make(cell, 1, 8, returnSequences: false);
        using var head = new Linear(8, 1, generator: new Generator(3));
        var parameters = layer.Parameters().Concat(head.Parameters()).ToList();
        var data = Reference.Values(16 * 6, 21);
        using var x = Tensor.FromSpan<float>(data.Select(v => (float)v).ToArray(), [16, 6, 1]);
        using var target = Tensor.FromSpan<float>(Enumerable.Range(0, 16).Select(b => (float)(data.Skip(b * 6).Take(6).Sum() / 2)).ToArray(), [16, 1]);
        double first = 0, last = 0;
        for (int step = 0; step < 150; step++)
        {
            using var scope = new TensorScope();
            var prediction = head.Forward(layer.Forward(x));
            var loss = (prediction - target).Square().Mean();
            if (step == 0) first = loss.Item();
            last = loss.Item();
            foreach (var p in parameters) p.ZeroGrad();
            loss.Backward();
            using (Tape.NoGrad())
                foreach (var p in parameters) p.CopyFrom(p - p.Grad! * 0.3);
        }
        Assert.That(last, Is.LessThan(first * 0.3), $"{cell}: loss went from {first} to {last}");
    }
}
