using System.Text.Json.Nodes;
using Tensorium;
using Tensorium.Layers;
using Tensorium.Models;
using Tensorium.Optim;

/// <summary>
/// The simplest classifier: a multilayer perceptron on Fashion-MNIST. Flatten, Linear(784,128),
/// ReLU, Linear(128,10); plain SGD (lr 0.01, no momentum), batch 64, 10 epochs. The dense
/// layers start as Keras' do (Glorot-uniform weights, zero biases): with plain SGD that trains
/// faster than PyTorch's smaller default initialisation.
/// </summary>
static class MlpExample
{
    public static Sequential Build()
    {
        var g = new Generator(1234);
        var model = Architectures.Mlp(Inputs, Hidden, Classes, g);   // Flatten, Linear, ReLU, Linear
        KerasInit((Linear)model[1], g);
        KerasInit((Linear)model[3], g);
        return model;
    }

    const int Inputs = 28 * 28, Hidden = 128, Classes = 10;

    /// <summary>The card saved with the weights: what the server needs to rebuild and serve the model.</summary>
    public static ModelCard Card() => Classification.FashionMnistCard("mlp", Architectures.MlpName,
        new JsonObject { ["inputs"] = Inputs, ["hidden"] = Hidden, ["classes"] = Classes });

    /// <summary>Glorot-uniform weights and zero biases (Keras' Dense defaults).</summary>
    static void KerasInit(Linear layer, Generator g)
    {
        using (Tape.NoGrad())
        {
            using var w = Init.GlorotUniform([layer.OutFeatures, layer.InFeatures], g);
            layer.Weight.CopyFrom(w);
            if (layer.Bias is { } bias)
            {
                using var zeros = Tensor.Zeros([layer.OutFeatures]);
                bias.CopyFrom(zeros);
            }
        }
    }

    public static int Run(ExampleOptions options) =>
        Classification.RunFashionMnist(Card(), options, Build, p => new Sgd(p, learningRate: 0.01, momentum: 0), defaultEpochs: 10);
}
