using Tensorium;
using Tensorium.Layers;
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
        return new Sequential(
            new Flatten(),
            KerasInit(new Linear(28 * 28, 128, generator: g), g), new ReLU(),
            KerasInit(new Linear(128, 10, generator: g), g));
    }

    /// <summary>Glorot-uniform weights and zero biases (Keras' Dense defaults).</summary>
    static Linear KerasInit(Linear layer, Generator g)
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
        return layer;
    }

    public static int Run(ExampleOptions options) =>
        Classification.RunFashionMnist("mlp", options, Build, p => new Sgd(p, learningRate: 0.01, momentum: 0), defaultEpochs: 10);
}
