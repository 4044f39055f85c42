using System.Text.Json.Nodes;
using Tensorium;
using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Models;
using Tensorium.Optim;

/// <summary>
/// The Keras tutorial CNN on Fashion-MNIST: Conv2d(32,3x3,relu), MaxPool(2), Conv2d(64,3x3,relu),
/// MaxPool(2), Conv2d(64,3x3,relu), Flatten, Dense(64,relu), Dense(10); Adam 1e-3, batch 64.
/// </summary>
static class CnnExample
{
    public static Sequential Build(int inChannels = 1, int imageSize = 28, int classes = 10) =>
        Architectures.Cnn(inChannels, imageSize, classes, new Generator(1234));

    /// <summary>The card saved with the weights of a CNN built with these arguments.</summary>
    public static ModelCard Card(string name, IReadOnlyList<string> labels, int inChannels = 1, int imageSize = 28) =>
        Classification.FashionMnistCard(name, Architectures.CnnName,
            new JsonObject { ["in_channels"] = inChannels, ["image_size"] = imageSize, ["classes"] = labels.Count }, labels)
        with { Input = InputSpec.Image(imageSize, inChannels) };

    public static int Run(ExampleOptions options) =>
        Classification.RunFashionMnist(Card("cnn", FashionMnist.ClassNames), options, () => Build(), p => new Adam(p, learningRate: 1e-3), defaultEpochs: 5);
}
