namespace Tensorium;

/// <summary>
/// One recorded operation: its name, its inputs, its output, and the function that turns the
/// output's gradient into the inputs' gradients, with the tensors that function needs saved.
/// </summary>
public sealed class TapeEntry : IRecordedOp
{
    internal TapeEntry(long id, string op, Tensor[] inputs, Tensor output, Func<Tensor, Tensor[], Tensor?[]> backward, Tensor[] saved)
    {
        Id = id;
        Op = op;
        Inputs = inputs;
        Output = output;
        BackwardFn = backward;
        Saved = saved;
        SavedVersions = saved.Select(t => t.StorageFor(op).Version).ToArray();
        _gradientsSent = new bool[inputs.Length];
    }

    private readonly bool[] _gradientsSent;

    /// <summary>Position on the tape: entries are numbered in the order they ran.</summary>
    public long Id { get; }
    /// <summary>Operation name, e.g. "matmul".</summary>
    public string Op { get; }
    /// <summary>The operation's tensor inputs.</summary>
    public IReadOnlyList<Tensor> Inputs { get; }
    /// <summary>The tensor it produced.</summary>
    public Tensor Output { get; }
    /// <summary>
    /// One flag per input: whether a <see cref="Tape.Backward"/> through this entry has sent a
    /// gradient to that input (all false until then). It is how the gradient flow is drawn.
    /// </summary>
    public IReadOnlyList<bool> GradientsSent => _gradientsSent;
    /// <summary>(output gradient, saved tensors) to one gradient per input (null: none needed).</summary>
    internal Func<Tensor, Tensor[], Tensor?[]>? BackwardFn { get; private set; }
    /// <summary>Tensors kept for the backward pass (views sharing the originals' storage).</summary>
    internal Tensor[] Saved { get; private set; }
    /// <summary>The storage version of each saved tensor when it was saved (see <see cref="Storage.Version"/>).</summary>
    private long[] SavedVersions { get; set; }

    IEnumerable<Tensor> IRecordedOp.SavedTensors => Saved;
    IEnumerable<Tensor> IRecordedOp.RecordedInputs => Inputs;

    /// <summary>Notes that backward sent a gradient to input <paramref name="input"/>.</summary>
    internal void MarkGradientSent(int input) => _gradientsSent[input] = true;

    /// <summary>Frees the saved tensors; a later backward through this entry is an error.</summary>
    internal void Release()
    {
        foreach (var t in Saved) t.Dispose();
        Saved = [];
        SavedVersions = [];
        BackwardFn = null;
    }

    /// <summary>
    /// Throws when a saved tensor was written in place after it was saved: its backward would
    /// compute gradients from the new values, silently wrong.
    /// </summary>
    internal void CheckSavedVersions()
    {
        for (int i = 0; i < Saved.Length; i++)
        {
            var t = Saved[i];
            var storage = t.StorageFor("backward");
            if (storage.Version == SavedVersions[i]) continue;
            throw new InvalidOperationException(
                $"backward: one of the variables needed for gradient computation has been modified by an inplace operation: the tensor {Layout.Format(t.Layout.Shape)} {storage.DType.Name()} saved by '{Op}' (entry #{Id}, saved tensor {i + 1} of {Saved.Length}) is at version {storage.Version}; expected version {SavedVersions[i]}. Make in-place changes (CopyFrom, optimizer Step) after Backward(), or run the forward pass again after them.");
        }
    }

    /// <inheritdoc />
    public override string ToString()
    {
        static string Describe(Tensor t) =>
            (t.Name ?? (t.Producer is TapeEntry e ? $"#{e.Id}" : "leaf")) + Layout.Format(t.Layout.Shape);
        return $"#{Id} {Op}({string.Join(", ", Inputs.Select(Describe))}) -> {Layout.Format(Output.Layout.Shape)}";
    }
}
