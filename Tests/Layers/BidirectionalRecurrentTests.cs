using Tensorium.Kernels.Ops;
using Tensorium.Layers;

namespace Tensorium.Tests.Layers;

/// <summary>
/// Bidirectional SimpleRnn/Lstm/Gru (PyTorch's "_reverse" weights, output and state layout) and
/// the ReLU Elman cell: against a scalar step-by-step reference (Elman) or against each direction
/// run on its own over the reversed sequence (LSTM, GRU), with float64 gradient checks.
/// </summary>
public class BidirectionalRecurrentTests
{
    private static readonly RecurrentCell[] Cells = [RecurrentCell.Tanh, RecurrentCell.Lstm, RecurrentCell.Gru];

    private static RecurrentLayer Make(RecurrentCell cell, int input, int hidden, int layers, RnnNonlinearity nonlinearity = RnnNonlinearity.Tanh) => cell switch
    {
        RecurrentCell.Lstm => new Lstm(input, hidden, layers, generator: new Generator(11), bidirectional: true),
        RecurrentCell.Gru => new Gru(input, hidden, layers, generator: new Generator(11), bidirectional: true),
        _ => new SimpleRnn(input, hidden, layers, generator: new Generator(11), bidirectional: true, nonlinearity: nonlinearity),
    };

    private static RecurrentOutput RunModule(RecurrentLayer layer, Tensor x, Tensor? h0, Tensor? c0) => layer switch
    {
        Lstm l => l.Forward(x, h0, c0),
        Gru g => g.Forward(x, h0),
        SimpleRnn r => r.Forward(x, h0),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>A [B, T, F] array with its time axis reversed.</summary>
    private static double[] ReverseTime(double[] x, int batch, int steps, int features)
    {
        var y = new double[x.Length];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < steps; t++)
                Array.Copy(x, (b * steps + t) * features, y, (b * steps + steps - 1 - t) * features, features);
        return y;
    }

    /// <summary>Two [B, T, H] arrays side by side along the features: [B, T, 2H].</summary>
    private static double[] ConcatFeatures(double[] a, double[] b, int rows, int hidden)
    {
        var y = new double[2 * a.Length];
        for (int r = 0; r < rows; r++)
        {
            Array.Copy(a, r * hidden, y, 2 * r * hidden, hidden);
            Array.Copy(b, r * hidden, y, (2 * r + 1) * hidden, hidden);
        }
        return y;
    }

    /// <summary>
    /// The Elman cell in plain doubles for one direction: h' = act(W_ih x + b_ih + W_hh h + b_hh)
    /// over a [B, T, F] array from h0 [B, H]; returns the [B, T, H] outputs.
    /// </summary>
    private static double[] ElmanReference(double[] x, int batch, int steps, int features, double[] h0, RecurrentWeights w, Func<double, double> act)
    {
        var wih = w.WeightIh.ToDoubleArray();
        var whh = w.WeightHh.ToDoubleArray();
        var bih = w.BiasIh!.ToDoubleArray();
        var bhh = w.BiasHh!.ToDoubleArray();
        int hidden = bih.Length;
        var y = new double[batch * steps * hidden];
        for (int b = 0; b < batch; b++)
        {
            var h = h0.Skip(b * hidden).Take(hidden).ToArray();
            for (int t = 0; t < steps; t++)
            {
                var next = new double[hidden];
                for (int j = 0; j < hidden; j++)
                {
                    double s = bih[j] + bhh[j];
                    for (int f = 0; f < features; f++) s += wih[j * features + f] * x[(b * steps + t) * features + f];
                    for (int i = 0; i < hidden; i++) s += whh[j * hidden + i] * h[i];
                    next[j] = act(s);
                }
                h = next;
                Array.Copy(h, 0, y, (b * steps + t) * hidden, hidden);
            }
        }
        return y;
    }

    [TestCase(RnnNonlinearity.Tanh)]
    [TestCase(RnnNonlinearity.Relu)]
    public void BidirectionalElmanMatchesScalarReference(RnnNonlinearity nonlinearity)
    {
        using var scope = new TensorScope();
        const int batch = 3, steps = 5, input = 4, hidden = 6, layers = 2;
        using var rnn = Make(RecurrentCell.Tanh, input, hidden, layers, nonlinearity);
        var x = Reference.Random([batch, steps, input], Device.Cpu, seed: 3);
        var h0 = Reference.Random([2 * layers, batch, hidden], Device.Cpu, seed: 4);
        using var result = RunModule(rnn, x, h0, null);

        Func<double, double> act = nonlinearity == RnnNonlinearity.Relu ? v => Math.Max(v, 0) : Math.Tanh;
        var h0s = h0.ToDoubleArray();
        double[] State(int row) => h0s.Skip(row * batch * hidden).Take(batch * hidden).ToArray();
        var layerInput = x.ToDoubleArray();
        int features = input;
        var lastStates = new List<double[]>();
        for (int k = 0; k < layers; k++)
        {
            var forward = ElmanReference(layerInput, batch, steps, features, State(2 * k), rnn.LayerWeights(k), act);
            var backward = ReverseTime(ElmanReference(ReverseTime(layerInput, batch, steps, features), batch, steps, features, State(2 * k + 1),
                rnn.ReverseLayerWeights(k), act), batch, steps, hidden);
            // h_n: the forward direction's state after the last step, the reverse one's after the first.
            lastStates.Add(Enumerable.Range(0, batch).SelectMany(b => forward.Skip((b * steps + steps - 1) * hidden).Take(hidden)).ToArray());
            lastStates.Add(Enumerable.Range(0, batch).SelectMany(b => backward.Skip(b * steps * hidden).Take(hidden)).ToArray());
            layerInput = ConcatFeatures(forward, backward, batch * steps, hidden);
            features = 2 * hidden;
        }
        Assert.That(result.Output.Shape, Is.EqualTo(new[] { batch, steps, 2 * hidden }));
        Assert.That(result.Hidden.Shape, Is.EqualTo(new[] { 2 * layers, batch, hidden }));
        Reference.AssertClose(result.Output.ToDoubleArray(), layerInput, 1e-5, 1e-4, "output");
        Reference.AssertClose(result.Hidden.ToDoubleArray(), lastStates.SelectMany(s => s).ToArray(), 1e-5, 1e-4, "h_n");
    }

    [TestCase(RecurrentCell.Lstm)]
    [TestCase(RecurrentCell.Gru)]
    public void BidirectionalGatedCellsMatchEachDirectionRunAlone(RecurrentCell cell)
    {
        using var scope = new TensorScope();
        const int batch = 2, steps = 7, input = 3, hidden = 5;
        using var layer = Make(cell, input, hidden, 1);
        var x = Reference.Random([batch, steps, input], Device.Cpu, seed: 5);
        var h0 = Reference.Random([2, batch, hidden], Device.Cpu, seed: 6);
        var c0 = cell == RecurrentCell.Lstm ? Reference.Random([2, batch, hidden], Device.Cpu, seed: 7) : null;
        using var result = RunModule(layer, x, h0, c0);

        Tensor Row(Tensor? t, int r) => t!.Narrow(0, r, 1);
        var forward = RecurrentLayer.Run(cell, x, Row(h0, 0), c0 == null ? null : Row(c0, 0), [layer.LayerWeights(0)]);
        var reversedX = Tensor.FromSpan<double>(ReverseTime(x.ToDoubleArray(), batch, steps, input), x.Shape).To(DType.Float32);
        var backward = RecurrentLayer.Run(cell, reversedX, Row(h0, 1), c0 == null ? null : Row(c0, 1), [layer.ReverseLayerWeights(0)]);
        var expected = ConcatFeatures(forward.Output.ToDoubleArray(), ReverseTime(backward.Output.ToDoubleArray(), batch, steps, hidden), batch * steps, hidden);
        Reference.AssertClose(result.Output.ToDoubleArray(), expected, 1e-6, 1e-5, "output");
        Reference.AssertClose(result.Hidden.ToDoubleArray(), [.. forward.Hidden.ToDoubleArray(), .. backward.Hidden.ToDoubleArray()], 1e-6, 1e-5, "h_n");
        if (cell == RecurrentCell.Lstm)
            Reference.AssertClose(result.Cell!.ToDoubleArray(), [.. forward.Cell!.ToDoubleArray(), .. backward.Cell!.ToDoubleArray()], 1e-6, 1e-5, "c_n");
        layer.ReturnSequences = false;
        using var fromZeros = RunModule(layer, x, null, null);
        var last = fromZeros.Output.Narrow(1, steps - 1, 1).Reshape(batch, 2 * hidden);
        var lastStep = layer.Forward(x);
        Assert.That(lastStep.Shape, Is.EqualTo(new[] { batch, 2 * hidden }));
        Reference.AssertClose(lastStep.ToDoubleArray(), last.ToDoubleArray(), 0, 0, "ReturnSequences false: the last step of both directions");
    }

    [TestCaseSource(nameof(Cells))]
    public void ReverseWeightsFollowPyTorchNamesAndShapes(RecurrentCell cell)
    {
        using var layer = Make(cell, 5, 3, 2);
        int g = (cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 }) * 3;
        var expected = new List<(string, int[])>();
        for (int k = 0; k < 2; k++)
            foreach (var s in new[] { "", "_reverse" })
                expected.AddRange([($"weight_ih_l{k}{s}", new[] { g, k == 0 ? 5 : 6 }), ($"weight_hh_l{k}{s}", new[] { g, 3 }), ($"bias_ih_l{k}{s}", new[] { g }), ($"bias_hh_l{k}{s}", new[] { g })]);
        Assert.That(layer.NamedParameters().Select(p => p.Name), Is.EqualTo(expected.Select(e => e.Item1)));
        Assert.That(layer.NamedParameters().Select(p => p.Parameter.Shape), Is.EqualTo(expected.Select(e => e.Item2)));

        // A state dict round-trips strictly; a one-directional one lacks the reverse weights.
        using var twin = Make(cell, 5, 3, 2);
        var state = layer.StateDict();
        twin.LoadStateDict(state);
        using var scope = new TensorScope();
        var x = Reference.Random([2, 3, 5], Device.Cpu, seed: 8);
        Assert.That(twin.Forward(x).ToDoubleArray(), Is.EqualTo(layer.Forward(x).ToDoubleArray()));
        using RecurrentLayer single = cell switch { RecurrentCell.Lstm => new Lstm(5, 3, 2), RecurrentCell.Gru => new Gru(5, 3, 2), _ => new SimpleRnn(5, 3, 2) };
        Ref.Throws<ArgumentException>(() => layer.LoadStateDict(single.StateDict()), "missing keys", "weight_ih_l0_reverse");
        Ref.Throws<InvalidOperationException>(() => single.ReverseLayerWeights(0), "not bidirectional");
    }

    private static Tensor[] Float64Inputs(RecurrentCell cell, int layers, int batch, int steps, int hidden, int input)
    {
        var x = Ref.Leaf([batch, steps, input], Device.Cpu, 21);
        var h0 = Ref.Leaf([2 * layers, batch, hidden], Device.Cpu, 22);
        return cell == RecurrentCell.Lstm ? [x, h0, Ref.Leaf([2 * layers, batch, hidden], Device.Cpu, 23)] : [x, h0];
    }

    [TestCaseSource(nameof(Cells))]
    public void BidirectionalStackGradCheckInFloat64(RecurrentCell cell)
    {
        using var scope = new TensorScope();
        using var layer = Make(cell, 2, 2, 2);
        layer.To(DType.Float64);
        var inputs = Float64Inputs(cell, 2, 2, 3, 2, 2);
        ModuleGradCheck.AssertGradients(layer, t =>
        {
            var r = RunModule(layer, t[0], t[1], t.Length > 2 ? t[2] : null);
            // Everything the stack returns takes part: output, h_n (and c_n).
            var parts = new List<Tensor> { r.Output.Reshape(-1), r.Hidden.Reshape(-1) };
            if (r.Cell != null) parts.Add(r.Cell.Reshape(-1));
            return Joining.Concat(parts, 0);
        }, inputs);
    }

    [Test]
    public void ReluRnnGradCheckInFloat64()
    {
        using var scope = new TensorScope();
        using var rnn = new SimpleRnn(3, 2, numLayers: 2, generator: new Generator(5), nonlinearity: RnnNonlinearity.Relu);
        rnn.To(DType.Float64);
        var x = Ref.Leaf([2, 4, 3], Device.Cpu, 31);
        var h0 = Ref.Leaf([2, 2, 2], Device.Cpu, 32, Ref.Positive);   // positive states keep most units active
        ModuleGradCheck.AssertGradients(rnn, t =>
        {
            var r = rnn.Forward(t[0], t[1]);
            return Joining.Concat([r.Output.Reshape(-1), r.Hidden.Reshape(-1)], 0);
        }, [x, h0]);
    }

    [Test]
    public void ReluIsOnlyForTheElmanCell()
    {
        using var scope = new TensorScope();
        using var lstm = new Lstm(2, 2);
        var x = Reference.Random([1, 2, 2], Device.Cpu);
        Ref.Throws<ArgumentException>(() => RecurrentLayer.Run(RecurrentCell.Lstm, x, null, null, [lstm.LayerWeights(0)], nonlinearity: RnnNonlinearity.Relu),
            "ReLU", "Lstm");
        Ref.Throws<ArgumentException>(() => RecurrentLayer.Run(RecurrentCell.Lstm, x, null, null, [lstm.LayerWeights(0)], bidirectional: true), "bidirectional", "1 sets");
    }
}
