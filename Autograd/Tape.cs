using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// Reverse-mode automatic differentiation by tape. Every op that has an input requiring a gradient
/// appends a <see cref="TapeEntry"/>; <c>loss.Backward()</c> takes the entries that lead to the
/// loss and runs them newest first, so each entry's output gradient is complete before it is
/// used. The walk is a loop over a sorted list: no recursion, so a 10,000-step LSTM is fine.
/// </summary>
public static class Tape
{
    private static long _nextId;

    /// <summary>False inside <see cref="NoGrad"/>: ops then record nothing (and in-place writes are allowed).</summary>
    public static bool IsRecording => GradMode.IsRecording;

    /// <summary>Stops recording until the returned scope is disposed: <c>using (Tape.NoGrad()) { ... }</c>.</summary>
    public static IDisposable NoGrad() => new NoGradScope();

    private sealed class NoGradScope : IDisposable
    {
        private bool _done;
        public NoGradScope() => GradMode.NoGradDepth++;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            GradMode.NoGradDepth--;
        }
    }

    /// <summary>
    /// Records <paramref name="op"/> when recording is on and an input requires a gradient; returns
    /// <paramref name="output"/> either way. <paramref name="backward"/> gets the output gradient and
    /// the <paramref name="save"/>d tensors and returns one gradient per input (null where not needed).
    /// </summary>
    public static Tensor Record(string op, Tensor output, Tensor[] inputs, Func<Tensor, Tensor[], Tensor?[]> backward, params Tensor[] save)
    {
        if (!IsRecording || !inputs.Any(t => t.RequiresGrad)) return output;
        var saved = save.Select(t => t.View(t.Layout, op)).ToArray();
        output.RequiresGrad = true;
        output.Producer = new TapeEntry(Interlocked.Increment(ref _nextId), op, inputs, output, backward, saved);
        return output;
    }

    /// <summary>The entries <paramref name="root"/> depends on, oldest first (the order they ran).</summary>
    public static IReadOnlyList<TapeEntry> EntriesFor(Tensor root)
    {
        var found = new HashSet<TapeEntry>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<TapeEntry>();
        if (root.Producer is TapeEntry first) stack.Push(first);
        while (stack.Count > 0)
        {
            var entry = stack.Pop();
            if (!found.Add(entry)) continue;
            foreach (var input in entry.Inputs)
                if (input.Producer is TapeEntry e) stack.Push(e);
        }
        return found.OrderBy(e => e.Id).ToList();
    }

    /// <summary>The tape behind <paramref name="root"/> as readable lines, one entry each (<see cref="TapeGraph"/> draws it).</summary>
    public static string Format(Tensor root) => string.Join(Environment.NewLine, EntriesFor(root));

    /// <summary>
    /// Back-propagates <paramref name="gradient"/> (ones for a scalar root) from
    /// <paramref name="root"/>, adding into <c>.Grad</c> of every leaf that requires a gradient.
    /// Saved tensors are freed afterwards unless <paramref name="retainGraph"/> is set.
    /// </summary>
    public static void Backward(Tensor root, Tensor? gradient = null, bool retainGraph = false)
    {
        root.StorageFor("backward");   // a disposed root is named as such, not by the first property read
        gradient?.StorageFor("backward");
        if (!root.RequiresGrad)
            throw new InvalidOperationException($"backward: the tensor of shape {Layout.Format(root.Layout.Shape)} does not require a gradient (no input of its computation has RequiresGrad = true).");
        if (gradient == null && root.Count != 1)
            throw new InvalidOperationException($"backward: a gradient can be implied only for a scalar output, got shape {Layout.Format(root.Layout.Shape)}; pass the output gradient explicitly.");
        if (gradient != null && !gradient.Layout.Shape.SequenceEqual(root.Layout.Shape))
            throw new ArgumentException($"backward: gradient shape {Layout.Format(gradient.Layout.Shape)} does not match output shape {Layout.Format(root.Layout.Shape)}.");

        var entries = EntriesFor(root);
        // Every saved tensor is checked before any backward runs, so a refusal changes nothing.
        foreach (var entry in entries) entry.CheckSavedVersions();
        // Gradients of non-leaf tensors, each held as its own handle so it can be freed once used.
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        Tensor? grad = null;
        // A profiler files the ops run from here on under the backward phase.
        bool outerInBackward = Profiling.Profiler.InBackward;
        Profiling.Profiler.InBackward = true;
        // try/finally: when an op's backward throws, the gradients held for later entries are
        // freed all the same instead of staying rented from the pool.
        try
        {
            using (NoGrad())
            {
                using (var seed = gradient != null ? gradient.View(gradient.Layout, "backward") : Tensor.Full(root.Layout.Shape.ToArray(), 1, root.DType, root.Device))
                    Accumulate(grads, root, seed, null, [], fresh: gradient == null);
                for (int i = entries.Count - 1; i >= 0; i--)
                {
                    var entry = entries[i];
                    if (!grads.Remove(entry.Output, out grad)) continue;  // nothing flows back through it
                    var fn = entry.BackwardFn ?? throw new InvalidOperationException(
                        $"backward: entry #{entry.Id} ({entry.Op}) was already freed by an earlier Backward(); pass retainGraph: true to back-propagate twice.");
                    // Temporaries of the backward function die with this scope; only what is
                    // accumulated for later entries is kept.
                    using (var step = new TensorScope())
                    {
                        var inputGrads = fn(grad, entry.Saved);
                        for (int k = 0; k < entry.Inputs.Count; k++)
                            if (inputGrads[k] is { } g && entry.Inputs[k].RequiresGrad)
                            {
                                // Fresh: made by this backward function (in the step scope, not a
                                // tensor it captured) and returned for this input alone.
                                bool fresh = step.Holds(g) && inputGrads.Count(other => ReferenceEquals(other, g)) == 1;
                                Accumulate(grads, entry.Inputs[k], g, step, entry.Saved, fresh);
                                entry.MarkGradientSent(k);
                            }
                    }
                    grad.Dispose();
                    grad = null;
                }
            }
        }
        finally
        {
            Profiling.Profiler.InBackward = outerInBackward;
            grad?.Dispose();
            foreach (var g in grads.Values) g.Dispose();
        }
        if (!retainGraph)
            foreach (var entry in entries) entry.Release();
    }

    /// <summary>
    /// A leaf's first gradient as a tensor of its own: <paramref name="grad"/>'s memory itself when
    /// it is <paramref name="fresh"/> (made by the backward function in its step scope, which is
    /// about to drop it, and returned for one input only), nothing else holds it and it is one
    /// dense block; else a contiguous copy. A tensor a custom backward captured, or one it returned
    /// for two inputs, would otherwise share its memory with the leaf's .Grad. Taking it saves copying a
    /// whole weight's gradient every step; a gradient shared with anything (the output gradient
    /// passed through, a saved tensor, a view) is copied, so accumulating into .Grad later never
    /// writes into memory someone else reads. A tensor the entry saved stays the tape's (a
    /// retained graph reads it again), even when its handle is the only one.
    /// </summary>
    private static Tensor TakeOrCopy(Tensor grad, Tensor[] saved, bool fresh)
    {
        if (!fresh || Array.IndexOf(saved, grad) >= 0) return grad.ContiguousCopy("backward");
        var storage = grad.StorageFor("backward");
        bool whole = grad.Layout.IsContiguous && grad.Layout.Offset == 0 && grad.Count == storage.Count;
        return whole && storage.HasSingleOwner ? grad.View(grad.Layout, "backward") : grad.ContiguousCopy("backward");
    }

    private static void Accumulate(Dictionary<Tensor, Tensor> grads, Tensor target, Tensor grad, TensorScope? step, Tensor[] saved, bool fresh)
    {
        if (!grad.Layout.Shape.SequenceEqual(target.Layout.Shape))
            throw new InvalidOperationException($"backward: an op returned a gradient of shape {Layout.Format(grad.Layout.Shape)} for an input of shape {Layout.Format(target.Layout.Shape)}.");
        if (target.Producer == null)
        {
            // A leaf: its .Grad is its own buffer, so adding in place is safe.
            if (target.Grad == null)
            {
                target.Grad = TakeOrCopy(grad, saved, fresh);
                target.Grad.OwnedByParent = true;
            }
            else
            {
                Tensor.WriteInPlace("backward", target.Grad);   // a tape that saved this .Grad sees it changed
                target.Grad.Backend("backward").Binary(BinaryOp.Add, target.Grad, grad, target.Grad);
            }
            return;
        }
        // A non-leaf: hold the gradient by a handle of our own until its entry runs.
        Tensor held;
        if (grads.Remove(target, out var existing))
        {
            held = existing.Add(grad);
            existing.Dispose();
        }
        else
            held = grad.View(grad.Layout, "backward");
        step?.Keep(held);
        grads[target] = held;
    }
}
