using Tensorium;
using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Optim;

/// <summary>
/// The recipe the image classifiers share: the model moved to --device, its summary, cross-entropy,
/// accuracy, batch 64, a test evaluation and saved outputs. Each example states only what
/// differs: its name, its model, its optimizer and its number of epochs.
/// </summary>
static class Classification
{
    /// <summary>
    /// Loads Fashion-MNIST (<see cref="LoadFashionMnist"/>), then trains the model that
    /// <paramref name="build"/> makes on it with <see cref="Train"/>.
    /// </summary>
    public static int RunFashionMnist(string name, ExampleOptions options, Func<Sequential> build,
        Func<IEnumerable<Tensor>, Optimizer> optimizer, int defaultEpochs)
    {
        var (trainSet, testSet) = LoadFashionMnist(options);
        using var train = trainSet;
        using var test = testSet;
        return Train(name, options, build(), optimizer, train, test, defaultEpochs, [1, 1, 28, 28], FashionMnist.ClassNames);
    }

    /// <summary>The Fashion-MNIST train and test splits from --data (default: Debian's dataset-fashion-mnist).</summary>
    public static (TensorDataset Train, TensorDataset Test) LoadFashionMnist(ExampleOptions options)
    {
        Console.WriteLine($"Loading Fashion-MNIST from {options.DataDirectory}");
        return (FashionMnist.Load(options.DataDirectory, train: true), FashionMnist.Load(options.DataDirectory, train: false));
    }

    /// <summary>
    /// Moves <paramref name="model"/> (which this disposes) to --device, prints its summary for one
    /// input of <paramref name="inputShape"/>, gives its parameters to <paramref name="optimizer"/>,
    /// trains, evaluates on <paramref name="test"/> (accuracy and a confusion matrix over
    /// <paramref name="classNames"/>) and saves the outputs under <paramref name="name"/>.
    /// </summary>
    public static int Train(string name, ExampleOptions options, Module model, Func<IEnumerable<Tensor>, Optimizer> optimizer,
        IDataset train, IDataset test, int defaultEpochs, int[] inputShape, IReadOnlyList<string> classNames)
    {
        using (model)
        {
            model.To(options.Device);   // in place (the parameters keep their identity), as in PyTorch
            Console.WriteLine(model.Summary(inputShape));
            using var step = optimizer(model.Parameters());
            TrainAndReport(name, options, model, step, train, test, defaultEpochs, classNames);
        }
        return 0;
    }

    private static void TrainAndReport(string name, ExampleOptions options, Module model, Optimizer optimizer,
        IDataset train, IDataset test, int defaultEpochs, IReadOnlyList<string> classNames)
    {
        // Reading the data made large short-lived arrays (file bytes, decompression). Training
        // allocates tensors natively, so the GC may never run to give that memory back: do it now.
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var confusion = new ConfusionMatrix(classNames.Count, classNames);
        var trainer = new Trainer(model, optimizer, new CrossEntropyLoss(), [new Accuracy(), confusion]);
        var history = trainer.Fit(options.Limit(train), options.Epochs ?? defaultEpochs, batchSize: 64, validation: options.Limit(test));
        var result = trainer.Evaluate(test, batchSize: 64);   // the training batch size: the buffer pool then serves both
        Console.WriteLine($"test accuracy {result["accuracy"]:F4}  test loss {result["loss"]:F4}  ({history["seconds"].Average():F1} s per epoch)");
        Console.WriteLine($"\nConfusion matrix on the {confusion.Total} test images (rows: actual class, columns: predicted):\n{confusion}");
        options.SaveOutputs(name, model, history, result["accuracy"], confusion);
    }
}
