using Tensorium.Layers;

namespace Tensorium.Bert;

/// <summary>
/// BERT's initialisation (Hugging Face's _init_weights with initializer_range 0.02): weights of
/// linear layers and embeddings N(0, 0.02), biases zero (LayerNorms start at weight 1, bias 0 as
/// everywhere). Trains far better from scratch than PyTorch's defaults, whose N(0, 1) embeddings
/// dwarf everything else at the start.
/// </summary>
internal static class BertInit
{
    /// <summary>The standard deviation of initial weights.</summary>
    public const double Range = 0.02;

    /// <summary>A Linear with N(0, 0.02) weights and a zero bias.</summary>
    public static Linear Linear(int inFeatures, int outFeatures, Generator? generator)
    {
        var layer = new Linear(inFeatures, outFeatures, generator: generator);
        Reset(layer.Weight, generator);
        using var zeros = Tensor.Zeros(layer.Bias!.Shape, layer.Bias.DType);
        using (Tape.NoGrad())
            layer.Bias.CopyFrom(zeros);
        return layer;
    }

    /// <summary>An Embedding with N(0, 0.02) rows.</summary>
    public static Embedding Embedding(int rows, int dim, Generator? generator)
    {
        var table = new Embedding(rows, dim, generator: generator);
        Reset(table.Weight, generator);
        return table;
    }

    private static void Reset(Tensor weight, Generator? generator)
    {
        using var fresh = Tensor.Normal(weight.Shape, 0, Range, generator, weight.DType);
        using (Tape.NoGrad())
            weight.CopyFrom(fresh);
    }
}
