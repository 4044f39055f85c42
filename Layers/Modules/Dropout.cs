namespace Tensorium.Layers;

/// <summary>
/// Zeroes each element with probability p during training and scales the rest by 1/(1-p)
/// (inverted dropout), so evaluation is the identity. The mask comes from a counter-based
/// generator: the same seed gives the same mask on every device.
/// </summary>
public sealed class Dropout : Module
{
    private readonly Generator _generator;

    /// <summary>Creates the layer with drop probability <paramref name="p"/>.</summary>
    public Dropout(double p = 0.5, Generator? generator = null)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout: expected a probability in [0, 1), got {p}.");
        P = p;
        _generator = generator ?? Generator.Default;
    }

    /// <summary>Drop probability.</summary>
    public double P { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        if (!IsTraining || P == 0) return input.Contiguous();   // identity, still on the tape
        using var keep = Tensor.Bernoulli(input.Shape, 1 - P, _generator, input.DType, input.Device);
        using var scaled = keep * (1 / (1 - P));
        return input * scaled;
    }
}
