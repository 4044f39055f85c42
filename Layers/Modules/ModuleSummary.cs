using System.Text;

namespace Tensorium.Layers;

public abstract partial class Module
{
    /// <summary>
    /// A Keras-style table of the model: one row per registered module, children under their
    /// parents (indented, with their dotted names: "features.0"), each with its output shape for an
    /// input of <paramref name="inputShape"/> (batch dim included) and the number of parameters
    /// registered on that module itself, so the column adds up to the total (the model's own
    /// parameters, if any, on a first row of its own). Shapes are in the
    /// library's layout, channels first: a Conv2d(1, 32, 3) on [N, 1, 28, 28] shows
    /// (None, 32, 26, 26), the batch dim as None. The model runs once, in evaluation mode, without
    /// the tape; the shape of a module run through <see cref="Sequential"/> or <see cref="Call"/>
    /// is recorded, and a child that a custom module runs with <c>child.Forward(x)</c> shows "?".
    /// The input is zeros of the model's parameter dtype; see the other overload for token ids.
    /// </summary>
    public string Summary(params int[] inputShape) => Summary(null, inputShape);

    /// <summary>
    /// <see cref="Summary(int[])"/> for a model whose input is not of its parameters' dtype: a
    /// model that starts with an <see cref="Embedding"/> takes <see cref="DType.Int64"/> token ids
    /// (the trace feeds zeros, a valid id for any vocabulary), like torchinfo's <c>dtypes</c>.
    /// </summary>
    public string Summary(DType? inputDType, params int[] inputShape)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Length == 0 || inputShape.Any(d => d <= 0))
            throw new ArgumentException($"{DisplayName}.Summary: expected an input shape with positive dims, batch first, got {Layout.Format(inputShape)}.", nameof(inputShape));
        int[] outputShape;
        using var trace = new SummaryTrace();
        // An evaluation scope, not Eval()/Train(): the module's mode is never touched, so a
        // failing trace or another thread using the model sees it unchanged.
        using (new TensorScope())
        using (Tape.NoGrad())
        using (new EvaluationScope())
        {
            var first = Parameters().FirstOrDefault();
            var x = Tensor.Zeros(inputShape, inputDType ?? first?.DType ?? DType.Float32, first?.Device);
            outputShape = Call(x).Shape;
        }
        var rows = new List<(string Layer, string Shape, long Params)>();
        // The model's own row when it is a single layer, or when it holds parameters besides its
        // children's (so that the column adds up to the total).
        if (_children.Count == 0 || _parameters.Count > 0) rows.Add(($"({DisplayName})", KerasShape(outputShape), DirectParameterCount()));
        AddRows(this, "", 0, trace, rows);

        var sb = new StringBuilder();
        int w1 = Math.Max(24, rows.Max(r => r.Layer.Length) + 2), w2 = Math.Max(20, rows.Max(r => r.Shape.Length) + 2);
        string line = new('─', w1 + w2 + 12);
        sb.AppendLine($"Model: {DisplayName}").AppendLine(line);
        sb.AppendLine($"{"Layer (type)".PadRight(w1)}{"Output Shape".PadRight(w2)}{"Param #",10}").AppendLine(line);
        foreach (var r in rows) sb.AppendLine($"{r.Layer.PadRight(w1)}{r.Shape.PadRight(w2)}{r.Params,10:N0}");
        sb.AppendLine(line);
        sb.AppendLine($"Input shape: {KerasShape(inputShape)}  Output shape: {KerasShape(outputShape)}");
        sb.AppendLine($"Total params: {ParameterCount():N0}");
        sb.AppendLine($"Trainable params: {ParameterCount(trainableOnly: true):N0}");
        sb.AppendLine($"Non-trainable params: {ParameterCount() - ParameterCount(trainableOnly: true):N0}");
        if (rows.Any(r => r.Shape == "?"))
            sb.AppendLine("? = not run through Sequential or Module.Call during the trace (call children with child.Call(x) to see their shapes)");
        return sb.ToString();
    }

    /// <summary>Adds a row for every child of <paramref name="parent"/> and, under each, its own children.</summary>
    private static void AddRows(Module parent, string prefix, int depth, SummaryTrace trace, List<(string Layer, string Shape, long Params)> rows)
    {
        foreach (var (name, child) in parent._children)
        {
            string path = prefix + name;
            var shape = trace.ShapeOf(child);
            rows.Add(($"{new string(' ', 2 * depth)}{path} ({child.DisplayName})", shape == null ? "?" : KerasShape(shape), child.DirectParameterCount()));
            AddRows(child, path + ".", depth + 1, trace, rows);
        }
    }

    /// <summary>Scalars in the parameters registered on this module itself, not on its children.</summary>
    private long DirectParameterCount() => _parameters.Sum(p => (long)p.Value.Count);

    /// <summary>A shape as Keras prints it, with the batch dimension as None: (None, 32, 26, 26).</summary>
    private static string KerasShape(int[] shape) => "(" + string.Join(", ", shape.Select((d, i) => i == 0 ? "None" : d.ToString())) + ")";
}
