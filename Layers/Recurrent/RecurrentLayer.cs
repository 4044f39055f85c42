using Tensorium.Kernels.Ops;

namespace Tensorium.Layers;

/// <summary>
/// What <see cref="SimpleRnn"/>, <see cref="Lstm"/> and <see cref="Gru"/> share: batch-first
/// input [batch, time, features], a stack of <see cref="NumLayers"/> layers (each one's output
/// sequence is the next one's input), PyTorch's parameter names and layout
/// (weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, so a safetensors file from
/// torch.nn.LSTM/GRU/RNN(batch_first=True) loads as is) and PyTorch's initialisation U(±1/sqrt(H)).
/// Each layer runs as one fused autograd op (see <c>RecurrentOps</c>).
/// </summary>
public abstract class RecurrentLayer : Module
{
    private readonly Dictionary<string, Tensor> _byName = new();
    private readonly Generator _generator;

    /// <summary>Registers the parameters of every layer in PyTorch's order.</summary>
    private protected RecurrentLayer(RecurrentCell cell, int inputSize, int hiddenSize, int numLayers, bool bias, bool returnSequences,
        double dropout, Generator? generator)
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
        int gates = new RecurrentGeometry(cell, 1, 1, 1, hiddenSize).GateWidth;
        double bound = 1 / Math.Sqrt(hiddenSize);   // torch: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))
        for (int k = 0; k < numLayers; k++)
        {
            Add($"weight_ih_l{k}", [gates, k == 0 ? inputSize : hiddenSize]);
            Add($"weight_hh_l{k}", [gates, hiddenSize]);
            if (bias)
            {
                Add($"bias_ih_l{k}", [gates]);
                Add($"bias_hh_l{k}", [gates]);
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
    /// <summary>
    /// Probability of dropping each output of every layer but the last during training (PyTorch's
    /// dropout argument); 0 turns it off, and evaluation mode never drops.
    /// </summary>
    public double Dropout { get; }
    /// <summary>
    /// What <see cref="Forward(Tensor)"/> returns: the top layer's whole output sequence
    /// [batch, time, hidden] (true, PyTorch's output) or only its last step [batch, hidden]
    /// (false, Keras' return_sequences=False, handy before a classifier in a Sequential).
    /// </summary>
    public bool ReturnSequences { get; set; }

    /// <summary>The weights of layer <paramref name="k"/> of the stack.</summary>
    public RecurrentWeights LayerWeights(int k)
    {
        if (k < 0 || k >= NumLayers)
            throw new ArgumentOutOfRangeException(nameof(k), $"{DisplayName}: layer {k} does not exist (the stack has {NumLayers}).");
        return new(_byName[$"weight_ih_l{k}"], _byName[$"weight_hh_l{k}"],
            HasBias ? _byName[$"bias_ih_l{k}"] : null, HasBias ? _byName[$"bias_hh_l{k}"] : null);
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
        return last.Reshape(output.Layout.Shape[0], HiddenSize);
    }

    /// <summary>Runs the stack with this module's weights; null states start at zero.</summary>
    private protected RecurrentOutput RunStack(Tensor input, Tensor? h0, Tensor? c0) =>
        Run(Cell, input, h0, c0, Enumerable.Range(0, NumLayers).Select(LayerWeights).ToList(), DisplayName, IsTraining ? Dropout : 0, _generator);

    /// <summary>
    /// The functional form of a stacked recurrent layer (what the modules call with their own
    /// weights): runs <paramref name="layers"/> in order over <paramref name="input"/>
    /// [batch, time, features]. <paramref name="h0"/> and <paramref name="c0"/> (LSTM only) are
    /// [layers, batch, hidden] or null for zeros. Every tensor involved receives gradients.
    /// <paramref name="name"/> is used in error messages; <paramref name="dropout"/> &gt; 0 drops
    /// that fraction of each layer's outputs (but the last layer's) with <paramref name="generator"/>.
    /// </summary>
    public static RecurrentOutput Run(RecurrentCell cell, Tensor input, Tensor? h0, Tensor? c0, IReadOnlyList<RecurrentWeights> layers,
        string? name = null, double dropout = 0, Generator? generator = null)
    {
        name ??= cell.ToString();
        if (layers.Count == 0) throw new ArgumentException($"{name}: expected at least one layer of weights.");
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
        try
        {
            for (int k = 0; k < count; k++)
            {
                var w = layers[k];
                var x = previous ?? input;
                using var hk = InitialState(h0, k, batch, hidden, input);
                using var ck = cell == RecurrentCell.Lstm ? InitialState(c0, k, batch, hidden, input) : null;
                Tensor sequence;
                if (cell == RecurrentCell.Lstm)
                {
                    var (h, c) = x.LstmSequence(hk, ck!, w.WeightIh, w.WeightHh, w.BiasIh, w.BiasHh);
                    sequence = h;
                    using (c)
                    using (var cLast = c.Narrow(1, steps - 1, 1))
                        lastCell.Add(cLast.Reshape(batch, hidden));
                }
                else sequence = cell == RecurrentCell.Gru
                    ? x.GruSequence(hk, w.WeightIh, w.WeightHh, w.BiasIh, w.BiasHh)
                    : x.RnnTanhSequence(hk, w.WeightIh, w.WeightHh, w.BiasIh, w.BiasHh);
                using (var hLast = sequence.Narrow(1, steps - 1, 1))
                    lastHidden.Add(hLast.Reshape(batch, hidden));
                if (dropout > 0 && k < count - 1)
                {
                    // Inverted dropout on what the next layer sees, as torch.nn.LSTM(dropout=p) does.
                    using var raw = sequence;
                    using var keep = Tensor.Bernoulli(raw.Shape, 1 - dropout, generator, raw.DType, raw.Device);
                    using var scaled = keep * (1 / (1 - dropout));
                    sequence = raw * scaled;
                }
                previous?.Dispose();   // its op saved what backward needs
                previous = sequence;
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
