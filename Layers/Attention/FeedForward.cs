namespace Tensorium.Layers;

/// <summary>
/// The position-wise feed-forward block of a transformer layer, linear2(dropout(act(linear1(x)))),
/// and the activation names the transformer layers accept. Not a module of its own: the layers
/// own linear1/dropout/linear2 directly so their parameter names match PyTorch's
/// ("linear1.weight", not "ff.linear1.weight").
/// </summary>
internal static class FeedForward
{
    /// <summary>Checks an activation name ("relu" or "gelu", any case) and returns it lower-cased.</summary>
    public static string CheckActivation(string layer, string activation)
    {
        var name = activation.ToLowerInvariant();
        return name is "relu" or "gelu" ? name
            : throw new ArgumentException($"{layer}: activation must be \"relu\" or \"gelu\", got \"{activation}\".");
    }

    /// <summary>linear2(dropout(act(linear1(x)))).</summary>
    public static Tensor Apply(Tensor x, Linear linear1, string activation, Dropout dropout, Linear linear2)
    {
        using var hidden = linear1.Forward(x);
        using var activated = activation == "gelu" ? hidden.Gelu() : hidden.Relu();
        using var dropped = dropout.Forward(activated);
        return linear2.Forward(dropped);
    }
}
