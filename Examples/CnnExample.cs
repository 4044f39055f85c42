using Tensorium;
using Tensorium.Layers;
using Tensorium.Optim;

/// <summary>
/// The Keras tutorial CNN on Fashion-MNIST: Conv2d(32,3x3,relu), MaxPool(2), Conv2d(64,3x3,relu),
/// MaxPool(2), Conv2d(64,3x3,relu), Flatten, Dense(64,relu), Dense(10); Adam 1e-3, batch 64.
/// </summary>
static class CnnExample
{
    public static Sequential Build(int inChannels = 1, int imageSize = 28, int classes = 10)
    {
        var g = new Generator(1234);
        int afterConvs = ((imageSize - 2) / 2 - 2) / 2 - 2;   // 28 -> 26 -> 13 -> 11 -> 5 -> 3
        return new Sequential(
            new Conv2d(inChannels, 32, 3, generator: g), new ReLU(), new MaxPool2d(2),
            new Conv2d(32, 64, 3, generator: g), new ReLU(), new MaxPool2d(2),
            new Conv2d(64, 64, 3, generator: g), new ReLU(),
            new Flatten(),
            new Linear(64 * afterConvs * afterConvs, 64, generator: g), new ReLU(),
            new Linear(64, classes, generator: g));
    }

    public static int Run(ExampleOptions options) =>
        Classification.RunFashionMnist("cnn", options, () => Build(), p => new Adam(p, learningRate: 1e-3), defaultEpochs: 5);
}
