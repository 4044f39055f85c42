using System.Text.Json.Nodes;
using Tensorium;
using Tensorium.Layers;
using Tensorium.Models;
using Tensorium.Optim;

/// <summary>
/// A recurrent classifier on Fashion-MNIST: each image is read row by row as a sequence of 28
/// steps of 28 pixels by two stacked LSTM layers (hidden 128); the top layer's last hidden state
/// goes to Linear(128, 10). Adam 1e-3, batch 64, 5 epochs.
/// </summary>
static class LstmExample
{
    const int Features = 28, Hidden = 128, Layers = 2, Classes = 10;

    public static Sequential Build() => Architectures.LstmClassifier(Features, Hidden, Layers, Classes, new Generator(1234));

    /// <summary>The card saved with the weights.</summary>
    public static ModelCard Card() => Classification.FashionMnistCard("lstm", Architectures.LstmClassifierName,
        new JsonObject { ["features"] = Features, ["hidden"] = Hidden, ["layers"] = Layers, ["classes"] = Classes });

    public static int Run(ExampleOptions options) =>
        Classification.RunFashionMnist(Card(), options, Build, p => new Adam(p, learningRate: 1e-3), defaultEpochs: 5);
}
