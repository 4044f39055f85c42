namespace Tensorium.Optim;

/// <summary>
/// One parameter's update written with tensor ops instead of a fused kernel (for rules with more
/// state than a fused step carries, such as AMSGrad or centered RMSprop). <see cref="Apply"/>
/// gets the parameter and a contiguous copy of its gradient; it runs under no-grad after every
/// parameter of the step was checked, and writes the parameter and its state buffers in place.
/// </summary>
/// <param name="Apply">Updates (parameter, gradient).</param>
public sealed record ComposedUpdate(Action<Tensor, Tensor> Apply) : ParameterUpdate;
