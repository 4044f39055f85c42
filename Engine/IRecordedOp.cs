namespace Tensorium;

/// <summary>
/// What the Engine needs to know of a tape entry (Autograd's TapeEntry) without depending on the
/// Autograd: the tensors it holds for backward and its inputs, so a scope can keep them alive.
/// </summary>
internal interface IRecordedOp
{
    /// <summary>The tensors the entry keeps for its backward pass.</summary>
    IEnumerable<Tensor> SavedTensors { get; }
    /// <summary>The entry's inputs, through which a scope walks on to older entries.</summary>
    IEnumerable<Tensor> RecordedInputs { get; }
}
