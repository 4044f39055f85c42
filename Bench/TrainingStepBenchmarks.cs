using BenchmarkDotNet.Attributes;
using Tensorium.Kernels.Cpu;
using Tensorium.Layers;
using Tensorium.Optim;

namespace Tensorium.Bench;

/// <summary>
/// One optimizer step (forward, loss, backward, update) of the example models at batch 64 on
/// synthetic Fashion-MNIST-shaped data, so a whole training step can be profiled. Models match
/// Examples/: the Keras tutorial CNN, the MLP and the two-layer row-by-row LSTM.
/// One CNN epoch is 938 of these steps.
/// </summary>
public class TrainingStepBenchmarks
{
    private Sequential _model = null!;
    private Optimizer _optimizer = null!;
    private Tensor _images = null!, _labels = null!;

    /// <summary>Which example's model.</summary>
    [Params("cnn", "mlp", "lstm")]
    public string Model { get; set; } = "cnn";

    /// <summary>Builds the model, its optimizer and one batch.</summary>
    [GlobalSetup]
    public void Setup()
    {
        CpuParallel.Threads = BenchSettings.Threads;
        var g = new Generator(1);
        _model = Model switch
        {
            "cnn" => new Sequential(
                new Conv2D(1, 32, 3, generator: g), new ReLU(), new MaxPool2D(2),
                new Conv2D(32, 64, 3, generator: g), new ReLU(), new MaxPool2D(2),
                new Conv2D(64, 64, 3, generator: g), new ReLU(), new Flatten(),
                new Linear(576, 64, generator: g), new ReLU(), new Linear(64, 10, generator: g)),
            "mlp" => new Sequential(new Flatten(), new Linear(784, 128, generator: g), new ReLU(), new Linear(128, 10, generator: g)),
            _ => new Sequential(new RowsAsSequence(), new Lstm(28, 128, numLayers: 2, returnSequences: false, generator: g), new Linear(128, 10, generator: g)),
        };
        _optimizer = Model == "mlp" ? new Sgd(_model.Parameters(), learningRate: 0.01) : new Adam(_model.Parameters(), learningRate: 1e-3);
        _images = Tensor.Uniform([64, 1, 28, 28], generator: g);
        _labels = Tensor.FromArray(Enumerable.Range(0, 64).Select(i => (long)(i % 10)).ToArray());
    }

    /// <summary>Frees the model, optimizer state and batch.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _optimizer.Dispose();
        _model.Dispose();
        _images.Dispose();
        _labels.Dispose();
    }

    /// <summary>Forward, cross-entropy, backward and the optimizer update, with everything temporary freed.</summary>
    [Benchmark]
    public void Step()
    {
        using var scope = new TensorScope();
        var loss = _model.Forward(_images).CrossEntropy(_labels);
        _optimizer.ZeroGrad();
        loss.Backward();
        _optimizer.Step();
    }

    /// <summary>[N, 1, 28, 28] images as [N, 28, 28] sequences of rows.</summary>
    private sealed class RowsAsSequence : Module
    {
        public override Tensor Forward(Tensor input) => input.Reshape(input.Size(0), input.Size(2), input.Size(3));
    }
}
