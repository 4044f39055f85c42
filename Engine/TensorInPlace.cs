namespace Tensorium;

public sealed partial class Tensor
{
    /// <summary>
    /// Every in-place write to existing tensors goes through here before it changes anything:
    /// first each target is checked (none may be disposed, and none that requires a gradient may
    /// be written while the tape is recording, since the write itself is not recorded), then the
    /// version of each target's storage is bumped so that <c>Backward</c> can tell when a tensor
    /// it saved was changed after the forward pass. A refusal leaves every target unchanged.
    /// </summary>
    /// <param name="op">The writing op, named in errors ("copy_from", "sgd", ...).</param>
    /// <param name="targets">The tensors about to be overwritten.</param>
    internal static void WriteInPlace(string op, params Tensor[] targets)
    {
        foreach (var t in targets)
        {
            var storage = t.StorageFor(op);
            if (!GradMode.IsRecording || !t.RequiresGrad) continue;
            string why = t.Producer == null
                ? "PyTorch: a leaf Variable that requires grad is being used in an in-place operation"
                : "the write is not recorded, so the tape would no longer match the tensor's values";
            throw new InvalidOperationException(
                $"{op}: got a tensor {Layout.Format(t.Layout.Shape)} {storage.DType.Name()} that requires grad, written in place while the tape is recording; expected the write inside 'using (Tape.NoGrad())' ({why}).");
        }
        foreach (var t in targets) t.StorageFor(op).BumpVersion();
    }
}
