namespace Tensorium;

/// <summary>
/// <see cref="Set"/>: gives an existing tensor new content in place, keeping the object, as
/// PyTorch's <c>param.data = source</c>. This is how <c>Module.To</c> moves parameters without
/// replacing them, so an optimizer built earlier still holds the model's tensors.
/// </summary>
public static class SetOp
{
    extension(Tensor x)
    {
        /// <summary>
        /// Makes this tensor take <paramref name="source"/>'s shape, dtype, device and values,
        /// staying the same object: its Name, RequiresGrad, ownership and Grad are kept (a Grad of
        /// another shape or dtype is the caller's to replace). No data is copied: both tensors
        /// share the source's storage afterwards (a write through one is seen through the other),
        /// and this tensor's old storage is released. Not recorded on the tape; while the tape
        /// records, a tensor that requires grad cannot be set (run it under
        /// <see cref="Tape.NoGrad"/>, as Module.To does), since gradients of earlier ops would
        /// silently read the new values.
        /// </summary>
        public void Set(Tensor source)
        {
            const string op = "set";
            ArgumentNullException.ThrowIfNull(source);
            source.StorageFor(op);   // a disposed source is an error naming this op
            if (x.RequiresGrad && Tape.IsRecording)
                throw new InvalidOperationException($"{op}: got a tensor{(x.Name is { } name ? $" ('{name}')" : "")} that requires grad while the tape is recording; expected the call inside Tape.NoGrad() (replacing the content of a leaf under recorded ops would change their gradients).");
            if (ReferenceEquals(source, x)) { x.StorageFor(op); return; }
            x.ShareStorageOf(source, op);
        }
    }
}
