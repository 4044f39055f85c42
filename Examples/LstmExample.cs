using Tensorium;
using Tensorium.Layers;
using Tensorium.Optim;

/// <summary>
/// A recurrent classifier on Fashion-MNIST: each image is read row by row as a sequence of 28
/// steps of 28 pixels by two stacked LSTM layers (hidden 128); the top layer's last hidden state
/// goes to Linear(128, 10). Adam 1e-3, batch 64, 5 epochs.
/// </summary>
static class LstmExample
{
    /// <summary>[N, 1, 28, 28] images to [N, 28, 28] sequences: 28 time steps (rows) of 28 features (pixels).</summary>
    sealed class RowsAsSequence : Module
    {
        public override Tensor Forward(Tensor input) => input.Reshape(input.Size(0), input.Size(2), input.Size(3));
    }

    public static Sequential Build()
    {
        var g = new Generator(1234);
        return new Sequential(
            new RowsAsSequence(),
            new Lstm(28, 128, numLayers: 2, returnSequences: false, generator: g),   // [N, 28, 28] -> last state [N, 128]
            new Linear(128, 10, generator: g));
    }

    public static int Run(ExampleOptions options) =>
        Classification.RunFashionMnist("lstm", options, Build, p => new Adam(p, learningRate: 1e-3), defaultEpochs: 5);
}
