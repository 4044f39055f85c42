using System.Text.Json.Nodes;
using Tensorium;
using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Models;
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
    public static int RunFashionMnist(ModelCard card, ExampleOptions options, Func<Sequential> build,
        Func<IEnumerable<Tensor>, Optimizer> optimizer, int defaultEpochs)
    {
        var (trainSet, testSet) = LoadFashionMnist(options);
        using var train = trainSet;
        using var test = testSet;
        return Train(card, options, build(), optimizer, train, test, defaultEpochs);
    }

    /// <summary>
    /// The card of a classifier of 1x28x28 grey images in [0, 1] (Fashion-MNIST's, also accepted as
    /// 28x28 or 784 values by the server) with <paramref name="labels"/> (default: Fashion-MNIST's ten classes).
    /// </summary>
    public static ModelCard FashionMnistCard(string name, string architecture, JsonObject hyperparameters, IReadOnlyList<string>? labels = null) => new()
    {
        Name = name,
        Architecture = architecture,
        Kind = ModelKind.Classifier,
        Hyperparameters = hyperparameters,
        Input = InputSpec.Image(),
        Labels = [.. labels ?? FashionMnist.ClassNames],
        Description = $"Tensorium example '{name}', trained on Fashion-MNIST.",
    };

    /// <summary>The Fashion-MNIST train and test splits from --data (default: Debian's dataset-fashion-mnist).</summary>
    public static (TensorDataset Train, TensorDataset Test) LoadFashionMnist(ExampleOptions options)
    {
        Console.WriteLine($"Loading Fashion-MNIST from {options.DataDirectory}");
        return (FashionMnist.Load(options.DataDirectory, train: true), FashionMnist.Load(options.DataDirectory, train: false));
    }

    /// <summary>
    /// Moves <paramref name="model"/> (which this disposes) to --device, prints its summary for one
    /// input of the card's shape, gives its parameters to <paramref name="optimizer"/>, trains,
    /// evaluates on <paramref name="test"/> and saves the outputs and the card (with the test metrics).
    /// </summary>
    public static int Train(ModelCard card, ExampleOptions options, Module model, Func<IEnumerable<Tensor>, Optimizer> optimizer,
        IDataset train, IDataset test, int defaultEpochs)
    {
        using (model)
        {
            model.To(options.Device);   // in place (the parameters keep their identity), as in PyTorch
            Console.WriteLine(model.Summary([1, .. card.Input.Shape]));
            using var step = optimizer(model.Parameters());
            TrainAndReport(card, options, model, step, train, test, defaultEpochs);
        }
        return 0;
    }

    private static void TrainAndReport(ModelCard card, ExampleOptions options, Module model, Optimizer optimizer,
        IDataset train, IDataset test, int defaultEpochs)
    {
        // Reading the data made large short-lived arrays (file bytes, decompression). Training
        // allocates tensors natively, so the GC may never run to give that memory back: do it now.
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var labels = card.Labels ?? throw new ArgumentException($"{card.Name}: a classifier's card needs its labels");
        var confusion = new ConfusionMatrix(labels.Count, labels);
        const int batchSize = 64;
        var trainSet = options.Limit(train);
        // The Trainer validates after an epoch's batches: the profile must end before that.
        var profile = StepProfile.For(options, card.Name, stepsPerEpoch: new DataLoader(trainSet, batchSize).BatchCount);
        var trainer = new Trainer(model, optimizer, new CrossEntropyLoss(), [new Accuracy(), confusion]) { OnStep = profile == null ? null : profile.AfterStep };
        var history = trainer.Fit(trainSet, options.Epochs ?? defaultEpochs, batchSize, validation: options.Limit(test));
        profile?.Finish();
        var result = trainer.Evaluate(test, batchSize);   // the training batch size: the buffer pool then serves both
        Console.WriteLine($"test accuracy {result["accuracy"]:F4}  test loss {result["loss"]:F4}  ({history["seconds"].Average():F1} s per epoch)");
        Console.WriteLine($"\nConfusion matrix on the {confusion.Total} test images (rows: actual class, columns: predicted):\n{confusion}");
        options.SaveOutputs(WithMetrics(card, result), model, history, confusion);
    }

    /// <summary>The card with the test metrics of <paramref name="result"/> (loss, accuracy) added.</summary>
    public static ModelCard WithMetrics(ModelCard card, IReadOnlyDictionary<string, double> result) =>
        card with { Metrics = new Dictionary<string, double>(card.Metrics) { ["test_accuracy"] = result["accuracy"], ["test_loss"] = result["loss"] } };
}
