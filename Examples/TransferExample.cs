using Tensorium;
using Tensorium.Data;
using Tensorium.Layers;

/// <summary>
/// Transfer learning on Fashion-MNIST. The CNN of <see cref="CnnExample"/> is pre-trained on
/// classes 0-4 (T-shirt, trouser, pullover, dress, coat); its convolutional base is saved with
/// <see cref="Checkpoint.Save"/>, loaded into a new model with <see cref="Checkpoint.LoadInto"/>
/// (strict: false, since the new model has a fresh 5-way head for classes 5-9: sandal, shirt,
/// sneaker, bag, ankle boot, relabelled 0-4), the base is frozen and only the dense layers are
/// fine-tuned. Accuracy on classes 5-9 is reported before (random head) and after fine-tuning.
/// </summary>
static class TransferExample
{
    private const int HeadIndex = 11;      // the last Linear of CnnExample.Build
    private const int LastConvIndex = 7;   // the ReLU after the third Conv2d: layers 0..7 are the convolutional base

    /// <summary>Freezes layers 0..LastConvIndex of a <see cref="CnnExample.Build"/> model: its convolutional base.</summary>
    internal static void FreezeBase(Sequential model)
    {
        for (int i = 0; i <= LastConvIndex; i++) model[i].Freeze();
    }

    public static int Run(ExampleOptions options)
    {
        int epochs = options.Epochs ?? 2;
        Console.WriteLine($"Loading Fashion-MNIST from {options.DataDirectory}");
        using var fullTrain = FashionMnist.Load(options.DataDirectory, train: true);
        using var fullTest = FashionMnist.Load(options.DataDirectory, train: false);
        using var trainA = fullTrain.Where(l => l < 5);                   // classes 0-4
        using var testA = fullTest.Where(l => l < 5);
        using var trainB = fullTrain.Where(l => l >= 5, l => l - 5);      // classes 5-9, relabelled 0-4
        using var testB = fullTest.Where(l => l >= 5, l => l - 5);
        Console.WriteLine($"task A (classes 0-4): {trainA.Count} train / {testA.Count} test; task B (classes 5-9 as 0-4): {trainB.Count} train / {testB.Count} test");
        // The base is an intermediate of this run: it goes in a run folder, not over a saved model.
        string basePath = new RunOutputs(options, "transfer-base").InRun("transfer-base.safetensors");

        // 1. Pre-train on classes 0-4, then save the network without its head (the feature extractor).
        Console.WriteLine($"\n1. Pre-training the CNN on classes 0-4 ({epochs} epoch{(epochs == 1 ? "" : "s")})");
        using (var pretrained = CnnExample.Build(classes: 5))
        {
            using var optimizer = new Tensorium.Optim.Adam(pretrained.Parameters(), learningRate: 1e-3);
            var trainer = new Trainer(pretrained, optimizer, (p, y) => p.CrossEntropy(y), [new Accuracy()]);
            trainer.Fit(options.Limit(trainA), epochs, batchSize: 64);
            var a = trainer.Evaluate(options.Limit(testA));
            Console.WriteLine($"pre-trained model: accuracy on classes 0-4 {a["accuracy"]:F4}");
            // An empty Sequential stands in for the head (an identity): the file holds layers 0..10 only.
            pretrained.Replace(HeadIndex, new Sequential());
            Checkpoint.Save(basePath, pretrained, metadata: new Dictionary<string, string> { ["trained_on"] = "fashion-mnist classes 0-4" });
            Console.WriteLine($"saved the pre-trained base (without its head) to {basePath}");
        }

        // 2. A new model with a fresh 5-way head for classes 5-9; load the base into it.
        Console.WriteLine("\n2. New model: the pre-trained base plus a new, random head for classes 5-9");
        using var model = CnnExample.Build(classes: 5);
        model.Replace(HeadIndex, new Linear(64, 5, generator: new Generator(2024)));
        var (missing, unexpected) = Checkpoint.LoadInto(basePath, model, strict: false);
        Console.WriteLine($"loaded {basePath} with strict: false; missing (left as initialised): [{string.Join(", ", missing)}], unexpected: [{string.Join(", ", unexpected)}]");

        // 3. Freeze the convolutional base; the optimizer only gets the trainable parameters.
        FreezeBase(model);
        var trainable = model.Parameters().Where(p => p.RequiresGrad).ToList();
        Console.WriteLine($"froze layers 0..{LastConvIndex} (the convolutions): {model.ParameterCount(trainableOnly: true):N0} of {model.ParameterCount():N0} parameters stay trainable ({trainable.Count} tensors)");
        var frozenBefore = ((Conv2d)model[0]).Weight.ToArray<float>();

        using var fineTuner = new Tensorium.Optim.Adam(trainable, learningRate: 1e-3);
        // --profile looks at the fine-tuning steps: the frozen base's backward stops at the head.
        // The Trainer validates after an epoch's batches: the profile must end before that.
        const int batchSize = 64;
        var fineTuneSet = options.Limit(trainB);
        var profile = StepProfile.For(options, "transfer", stepsPerEpoch: new DataLoader(fineTuneSet, batchSize).BatchCount);
        var trainerB = new Trainer(model, fineTuner, (p, y) => p.CrossEntropy(y), [new Accuracy()]) { OnStep = profile == null ? null : profile.AfterStep };
        var before = trainerB.Evaluate(options.Limit(testB));
        Console.WriteLine($"before fine-tuning (random head): accuracy on classes 5-9 {before["accuracy"]:F4}  loss {before["loss"]:F4}");

        Console.WriteLine($"\n3. Fine-tuning the dense layers on classes 5-9 ({epochs} epoch{(epochs == 1 ? "" : "s")})");
        var history = trainerB.Fit(fineTuneSet, epochs, batchSize, validation: options.Limit(testB));
        profile?.Finish();
        var after = trainerB.Evaluate(options.Limit(testB));
        bool unchanged = frozenBefore.AsSpan().SequenceEqual(((Conv2d)model[0]).Weight.ToArray<float>());
        Console.WriteLine($"after fine-tuning: accuracy on classes 5-9 {after["accuracy"]:F4}  loss {after["loss"]:F4}  (before: {before["accuracy"]:F4}); frozen conv weights unchanged: {unchanged}");
        var card = CnnExample.Card("transfer", [.. FashionMnist.ClassNames.Skip(5)]) with
        {
            Description = "Tensorium example 'transfer': the CNN pre-trained on Fashion-MNIST classes 0-4, fine-tuned on classes 5-9.",
        };
        options.SaveOutputs(Classification.WithMetrics(card, after), model, history);
        return 0;
    }
}
