using Tensorium.Kernels.Ops;

namespace Tensorium.Optim;

/// <summary>
/// One parameter's update, planned before any parameter is updated: the rule, the state buffers
/// it reads and writes, and the hyper-parameters, i.e. the arguments of
/// <see cref="FusedOptimizer.Step"/> besides the parameter and its gradient. Planning every
/// update first lets <see cref="Optimizer.Step"/> check them all before it changes anything.
/// </summary>
/// <param name="Kind">The update rule.</param>
/// <param name="State1">The first state buffer the rule reads (see <see cref="FusedOptimizer.Step"/>), or null.</param>
/// <param name="State2">The second state buffer, or null.</param>
/// <param name="Hyper">Learning rate, decay rates and the 1-based step count.</param>
public sealed record FusedUpdate(OptimizerKind Kind, Tensor? State1, Tensor? State2, OptimizerHyper Hyper) : ParameterUpdate;

/// <summary>
/// A planned update of one parameter: a <see cref="FusedUpdate"/> (one backend kernel) or a
/// <see cref="ComposedUpdate"/> (tensor ops).
/// </summary>
public abstract record ParameterUpdate;
