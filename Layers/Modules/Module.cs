namespace Tensorium.Layers;

/// <summary>
/// Base of every layer and model, like torch.nn.Module: it owns named parameters (trainable
/// tensors), buffers (state that is saved but not trained, such as BatchNorm's running mean),
/// and child modules. Parameters are found by walking the tree, so an optimizer, a state dict
/// or <see cref="To(Device)"/> see every weight without the layer listing them again.
/// Registered tensors keep their identity for the module's lifetime (To moves them in place).
/// </summary>
public abstract partial class Module : IDisposable
{
    private readonly List<(string Name, Tensor Value)> _parameters = new();
    private readonly List<(string Name, Tensor Value)> _buffers = new();
    private readonly List<(string Name, Module Value)> _children = new();

    /// <summary>
    /// The mode set by <see cref="Train"/> and <see cref="Eval"/>: true in training mode (Dropout
    /// drops, BatchNorm uses batch statistics). An open <see cref="EvaluationScope"/> overrides it
    /// for its own thread without changing it; layers read <see cref="IsTraining"/>, which says
    /// what to do now.
    /// </summary>
    public bool Training { get; private set; } = true;

    /// <summary>
    /// Whether this forward pass runs in training mode: <see cref="Training"/>, unless an
    /// <see cref="EvaluationScope"/> is open on this thread or async flow. Layers that behave
    /// differently in training (Dropout, BatchNorm, ...) read this, never <see cref="Training"/>,
    /// so inference under a scope needs no change to the module and is safe on many threads.
    /// </summary>
    protected bool IsTraining => Training && !EvaluationScope.Active;

    /// <summary>Maps an input to an output; what the layer computes.</summary>
    public abstract Tensor Forward(Tensor input);

    /// <summary>
    /// Calls <see cref="Forward"/>; lets a module be used like a function (<c>module(x)</c> in
    /// PyTorch). While a <see cref="Summary(int[])"/> traces the model, the output shape of every module
    /// run through Call is recorded, so a custom module that calls its children this way shows
    /// their shapes too.
    /// </summary>
    public Tensor Call(Tensor input)
    {
        var output = Forward(input);
        SummaryTrace.Record(this, output);
        return output;
    }

    /// <summary>
    /// The model's output for <paramref name="input"/> in inference mode, as <c>model.eval()</c>
    /// under <c>torch.no_grad()</c> in PyTorch or <c>model.predict(x)</c> in Keras: it runs under an
    /// <see cref="EvaluationScope"/> (Dropout is the identity, BatchNorm uses its running
    /// statistics; <see cref="Training"/> is left as it was), records nothing on the tape, and
    /// frees every intermediate in a <see cref="TensorScope"/> of its own. An input on another
    /// device than the model's parameters is moved there for the forward pass, and the output
    /// comes back on the input's device. The caller owns the result (an enclosing scope takes it).
    /// Safe to call from many threads at once while no thread trains the model.
    /// </summary>
    public Tensor Predict(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.IsDisposed)
            throw new ObjectDisposedException(nameof(Tensor), $"{DisplayName}.Predict: the input tensor was already disposed.");
        using var scope = new TensorScope();
        using (new EvaluationScope())
        using (Tape.NoGrad())
        {
            var device = Parameters().FirstOrDefault()?.Device ?? input.Device;
            var x = input.Device == device ? input : input.To(device);
            var output = Forward(x);
            // A module that returns its input (an identity) must still hand out a tensor of its
            // own: the caller disposes the result and keeps the input.
            if (ReferenceEquals(output, input)) output = input.Detach();
            if (output.Device != input.Device) output = output.To(input.Device);
            return scope.Keep(output);
        }
    }

    /// <summary>Registers a trainable tensor under <paramref name="name"/>; the module owns and disposes it.</summary>
    protected Tensor RegisterParameter(string name, Tensor value)
    {
        value.RequiresGrad = true;
        value.OwnedByParent = true;
        value.Name = name;
        _parameters.Add((name, value));
        return value;
    }

    /// <summary>Registers non-trainable state (saved in the state dict, moved by <see cref="To(Device)"/>).</summary>
    protected Tensor RegisterBuffer(string name, Tensor value)
    {
        value.OwnedByParent = true;
        value.Name = name;
        _buffers.Add((name, value));
        return value;
    }

    /// <summary>Registers a child module under <paramref name="name"/>; its parameters get the prefix "name.".</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        _children.Add((name, module));
        return module;
    }

    /// <summary>Swaps the child registered as <paramref name="name"/> for <paramref name="module"/>.</summary>
    protected void ReplaceModule(string name, Module module)
    {
        int index = _children.FindIndex(c => c.Name == name);
        if (index < 0) throw new ArgumentException($"{DisplayName}: no child module named '{name}'.");
        _children[index] = (name, module);
    }

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children;

    /// <summary>Every parameter in the tree with its dotted path ("features.0.weight").</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(string prefix = "")
    {
        foreach (var (name, p) in _parameters) yield return (prefix + name, p);
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedParameters(prefix + name + "."))
                yield return item;
    }

    /// <summary>Every parameter in the tree.</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>Every buffer in the tree with its dotted path.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(string prefix = "")
    {
        foreach (var (name, b) in _buffers) yield return (prefix + name, b);
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedBuffers(prefix + name + "."))
                yield return item;
    }

    /// <summary>Number of scalar parameters (trainable only when <paramref name="trainableOnly"/>).</summary>
    public long ParameterCount(bool trainableOnly = false) =>
        Parameters().Where(p => !trainableOnly || p.RequiresGrad).Sum(p => (long)p.Count);

    /// <summary>Sets training mode on this module and all children.</summary>
    public Module Train(bool on = true)
    {
        Training = on;
        foreach (var (_, child) in _children) child.Train(on);
        return this;
    }

    /// <summary>Sets evaluation mode (same as Train(false)).</summary>
    public Module Eval() => Train(false);

    /// <summary>Turns gradients off for every parameter in the tree (transfer learning: a frozen base).</summary>
    public Module Freeze() => SetRequiresGrad(false);

    /// <summary>Turns gradients back on for every parameter in the tree.</summary>
    public Module Unfreeze() => SetRequiresGrad(true);

    private Module SetRequiresGrad(bool on)
    {
        foreach (var p in Parameters()) p.RequiresGrad = on;
        return this;
    }

    /// <summary>Drops every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }

    /// <summary>
    /// Moves every parameter and buffer (and every gradient) to <paramref name="device"/>, in
    /// place, as module.to(device) in PyTorch: each keeps its identity, so an optimizer built
    /// before the move keeps working (its state follows on its next step). No-op for tensors
    /// already there.
    /// </summary>
    public Module To(Device device) => MoveInPlace(t => t.Device != device, t => t.To(device));

    /// <summary>
    /// Converts every floating parameter and buffer (and every gradient) to <paramref name="dtype"/>,
    /// in place, as module.to(torch.float64): each keeps its identity, so an optimizer built before
    /// the conversion keeps working. Integer buffers such as BatchNorm's num_batches_tracked keep
    /// their type. Handy for float64 gradient checks of whole layers.
    /// </summary>
    public Module To(DType dtype)
    {
        if (!dtype.IsFloating()) throw new ArgumentException($"{DisplayName}: To(dtype) expects a floating dtype, got {dtype.Name()}.");
        return MoveInPlace(t => t.DType.IsFloating() && t.DType != dtype, t => t.To(dtype));
    }

    /// <summary>
    /// Gives every tensor of the tree that <paramref name="needsMove"/> the content
    /// <paramref name="convert"/> makes for it, with <see cref="SetOp.Set"/>: the objects stay, so
    /// the layers' fields and the optimizers' lists stay valid. Everything is converted before
    /// anything is set, so a failure (out of device memory) leaves the module as it was.
    /// </summary>
    private Module MoveInPlace(Func<Tensor, bool> needsMove, Func<Tensor, Tensor> convert)
    {
        var owned = Parameters().Concat(NamedBuffers().Select(b => b.Buffer)).ToList();
        var tensors = owned.Concat(owned.Select(t => t.Grad).OfType<Tensor>())
            .Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>()   // a weight shared by two layers moves once
            .Where(needsMove).ToList();
        var moved = new List<Tensor>();
        using (Tape.NoGrad())
            try
            {
                foreach (var t in tensors) moved.Add(convert(t));
                for (int i = 0; i < tensors.Count; i++) tensors[i].Set(moved[i]);
            }
            finally
            {
                foreach (var m in moved) m.Dispose();   // the tensors keep the storage they now share
            }
        return this;
    }

    /// <summary>All parameters and buffers by dotted name, as views sharing the module's storage (dispose them when done).</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (name, t) in NamedParameters().Concat(NamedBuffers()))
            result[name] = t.Detach();
        return result;
    }

    /// <summary>
    /// Copies tensors from <paramref name="state"/> into the parameters and buffers with the same
    /// names. Every shape and dtype is checked before anything is written, so a mismatch leaves the
    /// module unchanged. With <paramref name="strict"/> every name must match both ways; without it
    /// missing and unexpected names are allowed (partial loading for transfer learning) and are returned.
    /// </summary>
    public (IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected) LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var own = NamedParameters().Concat(NamedBuffers()).ToDictionary(p => p.Item1, p => p.Item2);
        // Checked before the key lists so a null entry is named instead of failing inside the loops below.
        foreach (var (name, source) in state)
            if (source == null)
                throw new ArgumentException($"load_state_dict: '{name}' is null in the state dict; nothing was loaded.");
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        if (strict && (missing.Count > 0 || unexpected.Count > 0))
            throw new ArgumentException($"load_state_dict: missing keys [{string.Join(", ", missing)}], unexpected keys [{string.Join(", ", unexpected)}].");
        foreach (var (name, target) in own)
        {
            if (!state.TryGetValue(name, out var source)) continue;
            if (!source.Layout.Shape.SequenceEqual(target.Layout.Shape) || source.DType != target.DType)
                throw new ArgumentException($"load_state_dict: '{name}' has shape {Layout.Format(source.Layout.Shape)} {source.DType.Name()} in the state dict but {Layout.Format(target.Layout.Shape)} {target.DType.Name()} in the model; nothing was loaded.");
        }
        using (Tape.NoGrad())
            foreach (var (name, target) in own)
                if (state.TryGetValue(name, out var source))
                {
                    using var moved = source.Device == target.Device ? source.Detach() : source.To(target.Device);
                    target.CopyFrom(moved);
                }
        return (missing, unexpected);
    }

    /// <summary>
    /// Feeds <paramref name="input"/> through <paramref name="layers"/> in turn with
    /// <paramref name="step"/>, releasing each intermediate activation as soon as the next layer
    /// has consumed it (the tape keeps what backward needs through its own references), and the
    /// last one when a layer throws (nobody else would free it). Returns the last output, which is
    /// <paramref name="input"/> itself when every layer passed it through.
    /// </summary>
    private protected static Tensor Chain<TLayer>(Tensor input, IReadOnlyList<TLayer> layers, Func<TLayer, Tensor, Tensor> step)
    {
        var x = input;
        try
        {
            for (int i = 0; i < layers.Count; i++)
            {
                var next = step(layers[i], x);
                if (!ReferenceEquals(x, input) && !ReferenceEquals(x, next)) x.Dispose();
                x = next;
            }
        }
        catch
        {
            if (!ReferenceEquals(x, input)) x.Dispose();
            throw;
        }
        return x;
    }

    /// <summary>
    /// Throws, naming this module, unless <paramref name="input"/> has the dtype and device of
    /// <paramref name="state"/> (one of the module's own weights or buffers; null: nothing to
    /// match). Layers call it before any work so a mismatch is reported here rather than by the
    /// first arithmetic op, and before any running statistic is updated.
    /// </summary>
    private protected void CheckMatchesState(Tensor input, Tensor? state)
    {
        if (state == null) return;
        if (input.DType != state.DType)
            throw new ArgumentException($"{DisplayName}: expected a {state.DType.Name()} input like the layer's parameters, got {input.DType.Name()}.");
        if (input.Device != state.Device)
            throw new ArgumentException($"{DisplayName}: the input is on {input.Device} but the layer's parameters are on {state.Device}.");
    }

    /// <summary>Name shown in summaries (the class name by default).</summary>
    public virtual string DisplayName => GetType().Name;

    /// <summary>Disposes every parameter and buffer in the tree.</summary>
    public void Dispose()
    {
        foreach (var (_, p) in _parameters) p.Dispose();
        foreach (var (_, b) in _buffers) b.Dispose();
        foreach (var (_, c) in _children) c.Dispose();
        GC.SuppressFinalize(this);
    }
}
