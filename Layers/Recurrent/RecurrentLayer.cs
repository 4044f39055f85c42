using Tensorium.Kernels.Ops;

namespace Tensorium.Layers;

/// <summary>
/// What <see cref="SimpleRnn"/>, <see cref="Lstm"/> and <see cref="Gru"/> share: batch-first
/// input [batch, time, features], a stack of <see cref="NumLayers"/> layers (each one's output
/// sequence is the next one's input), PyTorch's parameter names and layout
/// (weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, so a safetensors file from
/// torch.nn.LSTM/GRU/RNN(batch_first=True) loads as is) and PyTorch's initialisation U(±1/sqrt(H)).
/// Each layer runs as one fused autograd op (see <c>RecurrentOps</c>). A bidirectional stack
/// (PyTorch's bidirectional=True) also runs every layer over the reversed sequence with its own
/// weights (the same names with the suffix "_reverse") and concatenates the two directions'
/// outputs, forward first, along the features: [batch, time, 2·hidden].
/// </summary>
public abstract class RecurrentLayer : Module
{
    private readonly Dictionary<string, Tensor> _byName = new();
    private readonly Generator _generator;

    /// <summary>Registers the parameters of every layer in PyTorch's order.</summary>
    private protected RecurrentLayer(RecurrentCell cell, int inputSize, int hiddenSize, int numLayers, bool bias, bool returnSequences,
        double dropout, Generator? generator, bool bidirectional, RnnNonlinearity nonlinearity = RnnNonlinearity.Tanh)
    {
        Cell = cell;
        if (inputSize <= 0 || hiddenSize <= 0 || numLayers <= 0)
            throw new ArgumentException($"{DisplayName}: inputSize, hiddenSize and numLayers must be positive, got {inputSize}, {hiddenSize}, {numLayers}.");
        if (!(dropout >= 0 && dropout < 1))
            throw new ArgumentOutOfRangeException(nameof(dropout), $"{DisplayName}: expected a dropout probability in [0, 1), got {dropout}.");
        Dropout = dropout;
        _generator = generator ?? Generator.Default;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        HasBias = bias;
        ReturnSequences = returnSequences;
        Bidirectional = bidirectional;
        Nonlinearity = nonlinearity;
        int gates = new RecurrentGeometry(cell, 1, 1, 1, hiddenSize).GateWidth;
        double bound = 1 / Math.Sqrt(hiddenSize);   // torch: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))
        for (int k = 0; k < numLayers; k++)
            foreach (var suffix in bidirectional ? new[] { "", "_reverse" } : [""])
            {
                // Above the first layer the input is both directions' outputs side by side.
                Add($"weight_ih_l{k}{suffix}", [gates, k == 0 ? inputSize : Directions * hiddenSize]);
                Add($"weight_hh_l{k}{suffix}", [gates, hiddenSize]);
                if (bias)
                {
                    Add($"bias_ih_l{k}{suffix}", [gates]);
                    Add($"bias_hh_l{k}{suffix}", [gates]);
                }
            }

        void Add(string name, int[] shape) => _byName[name] = RegisterParameter(name, Tensor.Uniform(shape, -bound, bound, generator));
    }

    /// <summary>Which cell every layer of the stack runs.</summary>
    public RecurrentCell Cell { get; }
    /// <summary>Features per step of the input.</summary>
    public int InputSize { get; }
    /// <summary>Units of each layer's hidden state.</summary>
    public int HiddenSize { get; }
    /// <summary>Number of stacked layers.</summary>
    public int NumLayers { get; }
    /// <summary>Whether the layers have bias_ih/bias_hh.</summary>
    public bool HasBias { get; }
    /// <summary>Whether every layer also runs over the reversed sequence (PyTorch's bidirectional).</summary>
    public bool Bidirectional { get; }
    /// <summary>1, or 2 when <see cref="Bidirectional"/>: the output has Directions · HiddenSize features.</summary>
    public int Directions => Bidirectional ? 2 : 1;
    /// <summary>The Elman cell's activation (tanh or ReLU); the LSTM and GRU always use tanh.</summary>
    public RnnNonlinearity Nonlinearity { get; }
    /// <summary>
    /// Probability of dropping each output of every layer but the last during training (PyTorch's
    /// dropout argument); 0 turns it off, and evaluation mode never drops.
    /// </summary>
    public double Dropout { get; }
    /// <summary>
    /// What <see cref="Forward(Tensor)"/> returns: the top layer's whole output sequence
    /// [batch, time, hidden] (true, PyTorch's output) or only its last step [batch, hidden]
    /// (false, Keras' return_sequences=False, handy before a classifier in a Sequential).
    /// When bidirectional, false returns <c>output[:, -1]</c> as the same PyTorch code would:
    /// [batch, 2 · hidden], the forward half having read the whole sequence but the reverse half
    /// only the last step (its summary of the whole sequence is its output at step 0, or the
    /// final hidden state). Use true and pick the steps yourself when the reverse summary matters.
    /// </summary>
    public bool ReturnSequences { get; set; }

    /// <summary>The weights of layer <paramref name="k"/> of the stack (its forward direction when bidirectional).</summary>
    public RecurrentWeights LayerWeights(int k) => Weights(k, "");

    /// <summary>The weights of the reverse direction of layer <paramref name="k"/> of a bidirectional stack (the "_reverse" names).</summary>
    public RecurrentWeights ReverseLayerWeights(int k) => Bidirectional
        ? Weights(k, "_reverse")
        : throw new InvalidOperationException($"{DisplayName}: the stack is not bidirectional, so layer {k} has no reverse weights.");

    private RecurrentWeights Weights(int k, string suffix)
    {
        if (k < 0 || k >= NumLayers)
            throw new ArgumentOutOfRangeException(nameof(k), $"{DisplayName}: layer {k} does not exist (the stack has {NumLayers}).");
        return new(_byName[$"weight_ih_l{k}{suffix}"], _byName[$"weight_hh_l{k}{suffix}"],
            HasBias ? _byName[$"bias_ih_l{k}{suffix}"] : null, HasBias ? _byName[$"bias_hh_l{k}{suffix}"] : null);
    }

    /// <summary>The full sequence or the last step (see <see cref="ReturnSequences"/>), starting from zero states.</summary>
    public override Tensor Forward(Tensor input)
    {
        var result = RunStack(input, null, null);
        result.Hidden.Dispose();
        result.Cell?.Dispose();
        if (ReturnSequences) return result.Output;
        using var output = result.Output;
        int steps = output.Layout.Shape[1];
        using var last = output.Narrow(1, steps - 1, 1);
        return last.Reshape(output.Layout.Shape[0], Directions * HiddenSize);
    }

    /// <summary>Runs the stack with this module's weights; null states start at zero.</summary>
    private protected RecurrentOutput RunStack(Tensor input, Tensor? h0, Tensor? c0) =>
        Run(Cell, input, h0, c0,
            Enumerable.Range(0, NumLayers).SelectMany(k => Bidirectional ? [LayerWeights(k), ReverseLayerWeights(k)] : new[] { LayerWeights(k) }).ToList(),
            DisplayName, IsTraining ? Dropout : 0, _generator, Bidirectional, Nonlinearity);

    /// <summary>
    /// The functional form of a stacked recurrent layer (what the modules call with their own
    /// weights): runs <paramref name="layers"/> in order over <paramref name="input"/>
    /// [batch, time, features]. <paramref name="h0"/> and <paramref name="c0"/> (LSTM only) are
    /// [layers, batch, hidden] or null for zeros. Every tensor involved receives gradients.
    /// <paramref name="name"/> is used in error messages; <paramref name="dropout"/> &gt; 0 drops
    /// that fraction of each layer's outputs (but the last layer's) with <paramref name="generator"/>.
    /// When <paramref name="bidirectional"/>, <paramref name="layers"/> lists each layer's forward
    /// then reverse weights, the states have 2·layers rows in the same order (PyTorch's), and each
    /// layer's output is both directions' concatenated. <paramref name="nonlinearity"/> picks the
    /// Elman cell's activation; ReLU is composed from matmul and relu per step (tanh is fused).
    /// </summary>
    public static RecurrentOutput Run(RecurrentCell cell, Tensor input, Tensor? h0, Tensor? c0, IReadOnlyList<RecurrentWeights> layers,
        string? name = null, double dropout = 0, Generator? generator = null, bool bidirectional = false, RnnNonlinearity nonlinearity = RnnNonlinearity.Tanh)
    {
        name ??= cell.ToString();
        if (layers.Count == 0) throw new ArgumentException($"{name}: expected at least one layer of weights.");
        int directions = bidirectional ? 2 : 1;
        if (layers.Count % directions != 0)
            throw new ArgumentException($"{name}: a bidirectional stack needs forward and reverse weights for each layer, got {layers.Count} sets.");
        if (nonlinearity == RnnNonlinearity.Relu && cell != RecurrentCell.Tanh)
            throw new ArgumentException($"{name}: only the Elman cell takes a ReLU nonlinearity; the {cell} cell has its own activations.");
        int hidden = layers[0].WeightHh.Layout.Shape[^1], inputSize = layers[0].WeightIh.Layout.Shape[^1], count = layers.Count;
        if (input.Rank != 3 || input.Layout.Shape[2] != inputSize || input.Layout.Shape[0] == 0 || input.Layout.Shape[1] == 0)
            throw new ArgumentException($"{name}: expected a batch-first input [batch, time, {inputSize}] with batch and time at least 1, got {Layout.Format(input.Layout.Shape)}.");
        int batch = input.Layout.Shape[0], steps = input.Layout.Shape[1];
        var weightDType = layers[0].WeightIh.DType;
        if (input.DType != weightDType)
            throw new ArgumentException($"{name}: the input is {input.DType.Name()} but the weights are {weightDType.Name()}.");
        CheckState(name, "initial hidden state h0", h0, count, batch, hidden);
        if (cell == RecurrentCell.Lstm) CheckState(name, "initial cell state c0", c0, count, batch, hidden);
        else if (c0 != null) throw new ArgumentException($"{name}: only the LSTM has a cell state; got a c0 of shape {Layout.Format(c0.Layout.Shape)}.");

        var lastHidden = new List<Tensor>();
        var lastCell = new List<Tensor>();
        Tensor? previous = null;   // the previous layer's output sequence: the next layer's input, ours to dispose
        // Time reversed, for the reverse direction: an index along dimension 1 (IndexSelect is differentiable).
        using var reversedTime = bidirectional ? Tensor.Arange(steps - 1, -1, -1, DType.Int64, input.Device) : null;
        try
        {
            for (int k = 0; k < count; k += directions)
            {
                var x = previous ?? input;
                var outputs = new List<Tensor>();
                try
                {
                    for (int d = 0; d < directions; d++)
                    {
                        using var reversed = d == 1 ? x.IndexSelect(1, reversedTime!) : null;
                        var (sequence, lastC) = RunDirection(cell, nonlinearity, reversed ?? x, h0, c0, k + d, layers[k + d], batch, steps, hidden);
                        using (var hLast = sequence.Narrow(1, steps - 1, 1))
                            lastHidden.Add(hLast.Reshape(batch, hidden));
                        if (lastC != null) lastCell.Add(lastC);
                        if (d == 1)
                        {
                            // Back in time order, so step t of both halves describes input step t.
                            using var backwards = sequence;
                            sequence = backwards.IndexSelect(1, reversedTime!);
                        }
                        outputs.Add(sequence);
                    }
                }
                catch
                {
                    foreach (var o in outputs) o.Dispose();
                    throw;
                }
                Tensor layerOutput;
                if (directions == 1) layerOutput = outputs[0];
                else
                    using (outputs[0])
                    using (outputs[1])
                        layerOutput = Joining.Concat(outputs, 2);
                var sequenceOut = layerOutput;
                if (dropout > 0 && k < count - directions)
                {
                    // Inverted dropout on what the next layer sees, as torch.nn.LSTM(dropout=p) does.
                    using var raw = sequenceOut;
                    using var keep = Tensor.Bernoulli(raw.Shape, 1 - dropout, generator, raw.DType, raw.Device);
                    using var scaled = keep * (1 / (1 - dropout));
                    sequenceOut = raw * scaled;
                }
                previous?.Dispose();   // its op saved what backward needs
                previous = sequenceOut;
            }
            var hn = Joining.Stack(lastHidden, 0);
            var cn = cell == RecurrentCell.Lstm ? Joining.Stack(lastCell, 0) : null;
            return new RecurrentOutput(previous!, hn, cn);
        }
        catch
        {
            previous?.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in lastHidden.Concat(lastCell)) t.Dispose();
        }
    }

    /// <summary>
    /// Runs one direction of one layer (state row <paramref name="row"/>) over <paramref name="x"/>:
    /// its output sequence [B, T, H] and, for the LSTM, its last cell state [B, H].
    /// </summary>
    private static (Tensor Sequence, Tensor? LastCell) RunDirection(RecurrentCell cell, RnnNonlinearity nonlinearity, Tensor x, Tensor? h0, Tensor? c0,
        int row, RecurrentWeights w, int batch, int steps, int hidden)
    {
        using var hk = InitialState(h0, row, batch, hidden, x);
        if (cell == RecurrentCell.Lstm)
        {
            using var ck = InitialState(c0, row, batch, hidden, x);
            var (h, c) = x.LstmSequence(hk, ck, w.WeightIh, w.WeightHh, w.BiasIh, w.BiasHh);
            using (c)
            using (var cLast = c.Narrow(1, steps - 1, 1))
                return (h, cLast.Reshape(batch, hidden));
        }
        if (cell == RecurrentCell.Gru) return (x.GruSequence(hk, w.WeightIh, w.WeightHh, w.BiasIh, w.BiasHh), null);
        if (nonlinearity == RnnNonlinearity.Relu) return (ReluSequence(x, hk, w), null);
        return (x.RnnTanhSequence(hk, w.WeightIh, w.WeightHh, w.BiasIh, w.BiasHh), null);
    }

    /// <summary>
    /// The Elman cell with ReLU, h' = relu(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), composed from
    /// differentiable ops: one matmul projects every step's input, then one matmul and one relu
    /// per step (no fused kernel, so every backend runs it).
    /// </summary>
    private static Tensor ReluSequence(Tensor x, Tensor h0, RecurrentWeights w)
    {
        int batch = x.Layout.Shape[0], steps = x.Layout.Shape[1];
        using var weightIhT = w.WeightIh.Transpose(0, 1);
        using var weightHhT = w.WeightHh.Transpose(0, 1);
        using var projected = x.MatMul(weightIhT);
        using var withBias = w.BiasIh != null ? projected + w.BiasIh : null;
        var inputs = withBias ?? projected;
        var states = new List<Tensor>();
        try
        {
            var h = h0;
            for (int t = 0; t < steps; t++)
            {
                using var step = inputs.Narrow(1, t, 1);
                using var xt = step.Reshape(batch, -1);
                using var recurrent = h.MatMul(weightHhT);
                using var sum = xt + recurrent;
                using var pre = w.BiasHh != null ? sum + w.BiasHh : null;
                h = (pre ?? sum).Relu();
                states.Add(h);
            }
            return Joining.Stack(states, 1);
        }
        finally
        {
            foreach (var s in states) s.Dispose();
        }
    }

    /// <summary>Layer k's initial state: a view of the given [layers, B, H] tensor, or zeros.</summary>
    private static Tensor InitialState(Tensor? states, int k, int batch, int hidden, Tensor like)
    {
        if (states == null) return Tensor.Zeros([batch, hidden], like.DType, like.Device);
        using var slice = states.Narrow(0, k, 1);
        return slice.Reshape(batch, hidden);
    }

    private static void CheckState(string name, string what, Tensor? state, int layers, int batch, int hidden)
    {
        if (state != null && !state.Layout.Shape.SequenceEqual(new[] { layers, batch, hidden }))
            throw new ArgumentException($"{name}: expected the {what} of shape [{layers}, {batch}, {hidden}] ([layers, batch, hidden]), got {Layout.Format(state.Layout.Shape)}.");
    }
}
