using System.Globalization;

namespace Tensorium.Optim;

/// <summary>
/// Base of the optimizers, like torch.optim.Optimizer. It holds the parameters (in
/// <see cref="ParameterGroups"/>, each with an optional own learning rate and weight decay), a per-parameter step count and per-parameter state buffers (momentum, running
/// averages) that are created lazily, on the parameter's device and dtype, the first time the
/// parameter has a gradient. Subclasses only plan how one parameter is updated (a
/// <see cref="FusedUpdate"/>, the arguments of one <see cref="FusedOptimizer.Step"/> call, or a
/// <see cref="ComposedUpdate"/> of tensor ops); the base checks every plan before running any,
/// so a step is all or nothing.
/// <para>
/// The optimizer may be built before or after <c>model.To(device or dtype)</c>: the move keeps
/// the parameter tensors (as in PyTorch), and the state buffers follow their parameter to its
/// device and dtype on the next step. The optimizer owns its state and frees it on
/// <see cref="Dispose"/>; the parameters belong to their model, and a step that meets a disposed
/// one raises.
/// </para>
/// </summary>
public abstract class Optimizer : IDisposable
{
    private readonly List<Tensor> _parameters = new();
    private readonly List<ParameterGroup> _groups = new();
    private readonly List<int> _groupOf = new();
    private readonly List<long> _steps = new();
    private readonly List<Dictionary<string, Tensor>> _state = new();
    private double _learningRate;
    private bool _disposed;

    /// <summary>Takes the parameters to optimise (e.g. <c>model.Parameters()</c>), the first parameter group, and the learning rate.</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        LearningRate = learningRate;
        AddParameterGroup(new ParameterGroup(parameters));
    }

    /// <summary>
    /// Adds parameters with their own hyper-parameters, as PyTorch's add_param_group (e.g. a new
    /// head trained faster than a pre-trained base:
    /// <c>opt.AddParameterGroup(new(head.Parameters(), learningRate: 1e-2))</c>). A group's
    /// learning rate or weight decay left null follows the optimizer's. Parameters are numbered
    /// across the groups in order (the index in state-dict keys). Add groups before building a
    /// schedule on the optimizer: a schedule scales the groups it saw when it was made. Everything
    /// is checked before the group is added, so a bad group leaves the optimizer as it was.
    /// </summary>
    public void AddParameterGroup(ParameterGroup group)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(group);
        var added = group.Parameters;
        if (added.Count == 0)
            throw new ArgumentException($"{Name}: got an empty parameter list; expected at least one tensor.");
        var seen = new HashSet<Tensor>(_parameters, ReferenceEqualityComparer.Instance);
        for (int j = 0; j < added.Count; j++)
        {
            int i = _parameters.Count + j;
            if (added[j] == null)
                throw new ArgumentException($"{Name}: parameter {i} is null; expected a tensor.");
            if (!seen.Add(added[j]))
                throw new ArgumentException($"{Name}: the same tensor appears more than once in the parameter list (parameter {i}).");
            if (added[j].IsDisposed)
                throw new ObjectDisposedException(nameof(Tensor),
                    $"{Name}.AddParameterGroup: got a disposed tensor as parameter {i}{(added[j].Name is { } name ? $" ('{name}')" : "")}; expected a live tensor.");
            if (!added[j].DType.IsFloating())
                throw new ArgumentException($"{Name}: parameter {i} has dtype {added[j].DType.Name()}; only float32 and float64 tensors can be optimised.");
        }
        foreach (var p in added)
        {
            _parameters.Add(p);
            _groupOf.Add(_groups.Count);
            _steps.Add(0);
            _state.Add(new Dictionary<string, Tensor>());
        }
        _groups.Add(group);
    }

    /// <summary>The parameters this optimizer updates, in the order given (the index in state-dict keys).</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters;

    /// <summary>The parameter groups: the constructor's parameters, then each <see cref="AddParameterGroup"/>.</summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups => _groups;

    /// <summary>The learning rate of parameter <paramref name="index"/>: its group's, else <see cref="LearningRate"/>.</summary>
    protected double LearningRateOf(int index) => _groups[_groupOf[index]].LearningRate ?? LearningRate;

    /// <summary>The weight decay of parameter <paramref name="index"/>: its group's, else <paramref name="optimizerDefault"/>.</summary>
    protected double WeightDecayOf(int index, double optimizerDefault) => _groups[_groupOf[index]].WeightDecay ?? optimizerDefault;

    /// <summary>The default step size (groups without their own use it); schedules change it between steps.</summary>
    public double LearningRate
    {
        get => _learningRate;
        set => _learningRate = value >= 0 && double.IsFinite(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), $"{Name}: expected a finite, non-negative learning rate, got {value}.");
    }

    /// <summary>Name used in error messages (the class name).</summary>
    protected string Name => GetType().Name;

    /// <summary>Returns <paramref name="value"/> when finite and non-negative; else throws naming the optimizer and <paramref name="what"/>.</summary>
    protected double NonNegative(double value, string what) =>
        value >= 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(value), $"{Name}: expected a finite, non-negative {what}, got {value}.");

    /// <summary>Returns <paramref name="value"/> when it is a decay rate in [0, 1); else throws naming the optimizer and <paramref name="what"/>.</summary>
    protected double Beta(double value, string what) =>
        value >= 0 && value < 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"{Name}: expected {what} in [0, 1), got {value}.");

    /// <summary>
    /// The names of every per-parameter state buffer this optimizer may keep (e.g. "exp_avg"),
    /// used to validate a loaded state dict.
    /// </summary>
    protected abstract IReadOnlyList<string> StateNames { get; }

    /// <summary>
    /// Plans the update of parameter <paramref name="index"/>: the rule, its state buffers (from
    /// <see cref="StateBuffer"/>) and hyper-parameters. <paramref name="step"/> counts this
    /// parameter's updates, this one included (1 on the first). Called for every parameter with a
    /// gradient before any is updated; runs under <see cref="Tape.NoGrad"/>.
    /// </summary>
    protected abstract ParameterUpdate Plan(int index, long step);

    /// <summary>
    /// The state buffer <paramref name="name"/> of parameter <paramref name="index"/>, created as
    /// zeros on the parameter's device and dtype the first time it is asked for (then
    /// <paramref name="created"/> is true). A buffer left on another device or dtype by
    /// <c>model.To(...)</c> is moved to the parameter's. The buffer is owned here: scopes leave it
    /// alone. During <see cref="Step"/> both are provisional: a buffer created by a step that
    /// fails is dropped, and a moved buffer takes its new device and dtype only when the step
    /// commits (until then the returned tensor is the moved copy).
    /// </summary>
    protected Tensor StateBuffer(int index, string name, out bool created)
    {
        var p = _parameters[index];
        created = !_state[index].TryGetValue(name, out var buffer);
        if (buffer == null)
        {
            buffer = Tensor.Zeros(p.Shape, p.DType, p.Device);
            buffer.OwnedByParent = true;
            _state[index][name] = buffer;
            _pending?.Created.Add((index, name));
            return buffer;
        }
        if (buffer.Device == p.Device && buffer.DType == p.DType) return buffer;
        if (_pending != null)
        {
            if (_pending.Moved.TryGetValue(buffer, out var alreadyMoved)) return alreadyMoved;
            var moved = MovedCopy(buffer, p);
            _pending.Moved[buffer] = moved;
            return moved;
        }
        using (var moved = MovedCopy(buffer, p))
            buffer.Set(moved);
        return buffer;
    }

    /// <summary>A copy of <paramref name="buffer"/> on <paramref name="parameter"/>'s device and dtype.</summary>
    private static Tensor MovedCopy(Tensor buffer, Tensor parameter)
    {
        using var onDevice = buffer.To(parameter.Device);
        return onDevice.To(parameter.DType);
    }

    /// <summary>What a step in progress changed in the state so far, undone if the step fails.</summary>
    private sealed class PendingState
    {
        /// <summary>The state buffers the step created (index, name).</summary>
        public List<(int Index, string Name)> Created { get; } = new();

        /// <summary>Buffers left on another device or dtype, with their moved copies (set into them on commit).</summary>
        public Dictionary<Tensor, Tensor> Moved { get; } = new(ReferenceEqualityComparer.Instance);
    }

    private PendingState? _pending;

    /// <summary>
    /// Updates every parameter that has a gradient (parameters whose Grad is null are skipped and
    /// their step count does not advance, like PyTorch). Nothing is recorded on the tape. The
    /// step is all or nothing: every parameter and gradient is checked, every update planned and
    /// checked, and every composed update's new values computed into temporaries before the
    /// first parameter or state buffer is written; an error until then (a gradient of the wrong
    /// shape, a disposed parameter, a failing tensor op) leaves every parameter, every state
    /// buffer (state created by the failed step is dropped) and every step count as they were.
    /// </summary>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var noGrad = Tape.NoGrad();

        // 1. The user's tensors, before anything (even a state buffer) is created or moved.
        var ready = new List<int>();
        for (int i = 0; i < _parameters.Count; i++)
            if (CheckParameter(i)) ready.Add(i);

        // 2. Plan every update and check it as the fused kernel will, and compute every composed
        // update's new values; 3. only then write anything.
        var grads = new List<Tensor>();
        var plans = new List<ParameterUpdate>();
        var writes = new List<IReadOnlyList<(Tensor Target, Tensor Value)>>();
        _pending = new PendingState();
        bool committed = false;
        try
        {
            foreach (int i in ready)
            {
                grads.Add(_parameters[i].Grad!.Contiguous());
                var plan = Plan(i, _steps[i] + 1);
                if (plan is FusedUpdate fused)
                    FusedOptimizer.Check(fused.Kind, _parameters[i], grads[^1], fused.State1, fused.State2, fused.Hyper);
                plans.Add(plan);
            }
            for (int k = 0; k < ready.Count; k++)
                if (plans[k] is ComposedUpdate composed)
                {
                    var computed = composed.Compute(_parameters[ready[k]], grads[k]);
                    writes.Add(computed);
                    CheckWrites(ready[k], computed);
                }

            committed = true;
            foreach (var (buffer, moved) in _pending.Moved) buffer.Set(moved);
            int w = 0;
            for (int k = 0; k < ready.Count; k++)
            {
                int i = ready[k];
                if (plans[k] is FusedUpdate f)
                    FusedOptimizer.Step(f.Kind, _parameters[i], grads[k], f.State1, f.State2, f.Hyper);
                else
                    foreach (var (target, value) in writes[w++]) target.CopyFrom(value);
                _steps[i]++;
            }
        }
        finally
        {
            if (!committed) RollBack(_pending);
            foreach (var moved in _pending.Moved.Values) moved.Dispose();
            _pending = null;
            foreach (var g in grads) g.Dispose();
            foreach (var list in writes)
                foreach (var (_, value) in list) value.Dispose();
        }
    }

    /// <summary>Checks that a composed update's new values match their targets, so the commit cannot fail half-way.</summary>
    private void CheckWrites(int index, IReadOnlyList<(Tensor Target, Tensor Value)> writes)
    {
        foreach (var (target, value) in writes)
            if (!value.Layout.Shape.SequenceEqual(target.Layout.Shape) || value.DType != target.DType || value.Device != target.Device)
                throw new InvalidOperationException($"{Name}: the composed update of parameter {index} computed a value of {Layout.Format(value.Layout.Shape)} {value.DType.Name()} on {value.Device} for a tensor of {Layout.Format(target.Layout.Shape)} {target.DType.Name()} on {target.Device}; expected them to match.");
    }

    /// <summary>Drops the state buffers a failed step created (moved copies are disposed by the caller).</summary>
    private void RollBack(PendingState pending)
    {
        foreach (var (index, name) in pending.Created)
        {
            _state[index][name].Dispose();
            _state[index].Remove(name);
        }
    }

    /// <summary>Whether parameter <paramref name="index"/> takes part in this step; throws when it or its gradient is unusable.</summary>
    private bool CheckParameter(int index)
    {
        var p = _parameters[index];
        string what = p.Name is { } name ? $"parameter {index} ('{name}')" : $"parameter {index}";
        // Checked before Grad: disposing a tensor drops its gradient, so a disposed parameter
        // would otherwise be skipped in silence and the model never train.
        if (p.IsDisposed)
            throw new ObjectDisposedException(nameof(Tensor), $"{Name}: {what} was disposed; expected a live tensor (was its model disposed? build a new optimizer for a new model).");
        if (p.Grad is not { } grad) return false;
        if (grad.IsDisposed)
            throw new ObjectDisposedException(nameof(Tensor), $"{Name}: the gradient of {what} was disposed; expected a live tensor (or null to skip the parameter).");
        if (!grad.Layout.Shape.SequenceEqual(p.Layout.Shape) || grad.DType != p.DType || grad.Device != p.Device)
            throw new InvalidOperationException($"{Name}: {what} is {Layout.Format(p.Layout.Shape)} {p.DType.Name()} on {p.Device} but its gradient is {Layout.Format(grad.Layout.Shape)} {grad.DType.Name()} on {grad.Device}; expected them to match.");
        if (!p.Layout.IsContiguous)
            throw new InvalidOperationException($"{Name}: {what} ({Layout.Format(p.Layout.Shape)}) is a non-contiguous view; the in-place update expects a contiguous tensor.");
        if (!p.DType.IsFloating())
            throw new InvalidOperationException($"{Name}: {what} has dtype {p.DType.Name()}; only float32 and float64 tensors can be optimised.");
        return true;
    }

    /// <summary>Drops every parameter's gradient (sets it to null, PyTorch's default set_to_none).</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.ZeroGrad();
    }

    /// <summary>
    /// The hyper-parameters by name, saved in the state dict as "hyper.{name}" (booleans as 0/1);
    /// a group's own learning rate and weight decay as "group{k}_lr" and "group{k}_weight_decay".
    /// </summary>
    protected virtual IEnumerable<(string Name, double Value)> HyperParameters()
    {
        yield return ("lr", LearningRate);
        for (int k = 0; k < _groups.Count; k++)
        {
            if (_groups[k].LearningRate is { } lr) yield return ($"group{k}_lr", lr);
            if (_groups[k].WeightDecay is { } wd) yield return ($"group{k}_weight_decay", wd);
        }
    }

    /// <summary>Sets a hyper-parameter read from a state dict; returns false when the name is unknown.</summary>
    protected virtual bool SetHyperParameter(string name, double value)
    {
        if (name == "lr")
        {
            LearningRate = value;
            return true;
        }
        for (int k = 0; k < _groups.Count; k++)
        {
            if (name == $"group{k}_lr") _groups[k].LearningRate = value;
            else if (name == $"group{k}_weight_decay") _groups[k].WeightDecay = value;
            else continue;
            return true;
        }
        return false;
    }

    /// <summary>
    /// The optimizer's state as flat, named tensors, ready to be saved (e.g. as safetensors):
    /// "state.{i}.step" (int64 scalar) and "state.{i}.{buffer}" for every parameter i that has
    /// been updated, and "hyper.{name}" (float64 scalars). Buffers are views sharing the
    /// optimizer's storage; the caller disposes the returned tensors.
    /// </summary>
    public Dictionary<string, Tensor> StateDict()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var result = new Dictionary<string, Tensor>();
        using (Tape.NoGrad())
        {
            for (int i = 0; i < _parameters.Count; i++)
            {
                if (_steps[i] == 0 && _state[i].Count == 0) continue;
                result[$"state.{i}.step"] = Tensor.Scalar(_steps[i], DType.Int64);
                foreach (var (name, buffer) in _state[i]) result[$"state.{i}.{name}"] = buffer.Detach();
            }
            foreach (var (name, value) in HyperParameters())
                result[$"hyper.{name}"] = Tensor.Scalar(value, DType.Float64);
        }
        return result;
    }

    /// <summary>
    /// Replaces the optimizer's state with <paramref name="state"/> (as returned by
    /// <see cref="StateDict"/>). Buffers are copied onto each parameter's device and dtype.
    /// Every key and shape is checked before anything changes, so a bad dict leaves the optimizer
    /// as it was. Parameters absent from the dict start fresh, like PyTorch.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(state);
        var steps = new long[_parameters.Count];
        var buffers = new List<(int Index, string Name, Tensor Source)>();
        var hypers = new List<(string Name, double Value)>();
        var knownHypers = HyperParameters().Select(h => h.Name).ToHashSet();
        foreach (var (key, tensor) in state)
        {
            var parts = key.Split('.');
            if (parts is ["hyper", var hyper] && knownHypers.Contains(hyper))
            {
                hypers.Add((hyper, tensor.Item()));
                continue;
            }
            if (parts is not ["state", var indexText, var name]
                || !int.TryParse(indexText, NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index >= _parameters.Count
                || (name != "step" && !StateNames.Contains(name)))
                throw new ArgumentException($"{Name}: unexpected state-dict key '{key}'; expected 'state.{{0..{_parameters.Count - 1}}}.{{step|{string.Join("|", StateNames)}}}' or 'hyper.{{{string.Join("|", knownHypers)}}}'. Nothing was loaded.");
            if (name == "step")
            {
                double value = tensor.Item();
                if (!(value >= 0 && value == Math.Floor(value)))
                    throw new ArgumentException($"{Name}: '{key}' must hold a non-negative whole number, got {value}. Nothing was loaded.");
                steps[index] = (long)value;
                continue;
            }
            var p = _parameters[index];
            if (!tensor.Layout.Shape.SequenceEqual(p.Layout.Shape) || !tensor.DType.IsFloating())
                throw new ArgumentException($"{Name}: '{key}' is {Layout.Format(tensor.Layout.Shape)} {tensor.DType.Name()} but parameter {index} is {Layout.Format(p.Layout.Shape)} {p.DType.Name()}; expected a floating tensor of the parameter's shape. Nothing was loaded.");
            buffers.Add((index, name, tensor));
        }

        var previous = HyperParameters().ToList();
        try
        {
            foreach (var (name, value) in hypers) SetHyperParameter(name, value);
        }
        catch
        {
            foreach (var (name, value) in previous) SetHyperParameter(name, value);
            throw;
        }

        FreeState();
        for (int i = 0; i < steps.Length; i++) _steps[i] = steps[i];
        using (Tape.NoGrad())
            foreach (var (index, name, source) in buffers)
            {
                var buffer = StateBuffer(index, name, out _);
                using var moved = source.Device == buffer.Device ? source.Detach() : source.To(buffer.Device);
                buffer.CopyFrom(moved);   // converts the dtype
            }
    }

    private void FreeState()
    {
        foreach (var buffers in _state)
        {
            foreach (var buffer in buffers.Values) buffer.Dispose();
            buffers.Clear();
        }
        for (int i = 0; i < _steps.Count; i++) _steps[i] = 0;
    }

    /// <summary>Frees the state buffers (the parameters belong to their module and are left alone).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        FreeState();
        GC.SuppressFinalize(this);
    }
}
