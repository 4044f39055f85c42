namespace Tensorium.Optim;

/// <summary>
/// One parameter's update written with tensor ops instead of a fused kernel (for rules with more
/// state than a fused step carries, such as AMSGrad, centered RMSprop or Adagrad).
/// <see cref="Compute"/> gets the parameter and a contiguous copy of its gradient, under no-grad,
/// after every parameter of the step was checked. It must not write anything: it returns the new
/// value of each tensor it updates (the parameter and its state buffers), as (target, value)
/// pairs of matching shape, dtype and device. <see cref="Optimizer.Step"/> computes every
/// parameter's values first and copies them into their targets only when all succeeded, so a
/// failure leaves everything as it was; it then disposes the values (keep them out of any
/// <see cref="TensorScope"/> that closes before the call returns, e.g. with
/// <see cref="TensorScope.Keep"/>).
/// </summary>
/// <param name="Compute">(parameter, gradient) to the new values, written by the step later.</param>
public sealed record ComposedUpdate(Func<Tensor, Tensor, IReadOnlyList<(Tensor Target, Tensor Value)>> Compute) : ParameterUpdate;
