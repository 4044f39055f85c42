namespace Tensorium.Layers;

/// <summary>max(x, 0).</summary>
public sealed class ReLU : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input.Relu();
}

/// <summary>x for x &gt; 0, slope * x otherwise.</summary>
public sealed class LeakyReLU(double slope = 0.01) : Module
{
    /// <summary>Slope for negative inputs.</summary>
    public double Slope { get; } = slope;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        using var scaled = input * Slope;
        return input.Maximum(scaled);
    }
}

/// <summary>Hyperbolic tangent.</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input.Tanh();
}

/// <summary>Logistic sigmoid.</summary>
public sealed class Sigmoid : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input.Sigmoid();
}

/// <summary>Exact (erf) GELU.</summary>
public sealed class GELU : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input.Gelu();
}

/// <summary>Softmax along <see cref="Dim"/>.</summary>
public sealed class Softmax(int dim = -1) : Module
{
    /// <summary>The normalised dimension.</summary>
    public int Dim { get; } = dim;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input.Softmax(Dim);
}

/// <summary>Flattens every dimension after the batch dimension (Keras Flatten).</summary>
public sealed class Flatten : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input.Flatten(1);
}
