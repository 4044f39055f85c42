using Tensorium;
using Tensorium.Data;
using Tensorium.Layers;

/// <summary>The recipe the image classifiers share: cross-entropy, accuracy, batch 64, a test evaluation, saved outputs.</summary>
static class Classification
{
    /// <summary>The Fashion-MNIST train and test splits from --data (default: Debian's dataset-fashion-mnist).</summary>
    public static (TensorDataset Train, TensorDataset Test) LoadFashionMnist(ExampleOptions options)
    {
        Console.WriteLine($"Loading Fashion-MNIST from {options.DataDirectory}");
        return (FashionMnist.Load(options.DataDirectory, train: true), FashionMnist.Load(options.DataDirectory, train: false));
    }

    public static void TrainAndReport(string name, ExampleOptions options, Module model, Tensorium.Optim.Optimizer optimizer,
        IDataset train, IDataset test, int defaultEpochs)
    {
        // Reading the data made large short-lived arrays (file bytes, decompression). Training
        // allocates tensors natively, so the GC may never run to give that memory back: do it now.
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var trainer = new Trainer(model, optimizer, (p, y) => p.CrossEntropy(y), [new Accuracy()]);
        var history = trainer.Fit(options.Limit(train), options.Epochs ?? defaultEpochs, batchSize: 64, validation: options.Limit(test));
        var result = trainer.Evaluate(test, batchSize: 64);   // the training batch size: the buffer pool then serves both
        Console.WriteLine($"test accuracy {result["accuracy"]:F4}  test loss {result["loss"]:F4}  ({history["seconds"].Average():F1} s per epoch)");
        options.SaveOutputs(name, model, history);
    }
}
