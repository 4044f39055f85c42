using Tensorium;
using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Optim;

/// <summary>
/// The CNN of <see cref="CnnExample"/> on CIFAR-10 (32x32 colour images, 10 classes), read from
/// the binary version given with --data DIR (data_batch_1..5.bin and test_batch.bin, in DIR or
/// DIR/cifar-10-batches-bin). Adam 1e-3, batch 64, 10 epochs.
/// </summary>
static class CifarExample
{
    /// <summary>The card saved with the weights: the CNN on 3x32x32 images with CIFAR-10's classes.</summary>
    public static Tensorium.Models.ModelCard CifarCard() =>
        CnnExample.Card("cifar", Cifar10.ClassNames, inChannels: 3, imageSize: 32) with { Description = "Tensorium example 'cifar', trained on CIFAR-10." };

    public static int Run(ExampleOptions options)
    {
        if (!options.DataGiven)
        {
            Console.Error.WriteLine("cifar: give the CIFAR-10 binary files with --data DIR (data_batch_1.bin .. data_batch_5.bin and test_batch.bin, " +
                "in DIR or DIR/cifar-10-batches-bin). Get cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and unpack it.");
            return 2;
        }
        Console.WriteLine($"Loading CIFAR-10 from {options.DataDirectory}");
        TensorDataset train, test;
        try
        {
            train = Cifar10.Load(options.DataDirectory, train: true);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
        {
            Console.Error.WriteLine($"cifar: {e.Message}");
            return 2;
        }
        try
        {
            test = Cifar10.Load(options.DataDirectory, train: false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
        {
            train.Dispose();
            Console.Error.WriteLine($"cifar: {e.Message}");
            return 2;
        }
        using (train)
        using (test)
        {
            Console.WriteLine($"{train.Count} training and {test.Count} test images");
            return Classification.Train(CifarCard(), options, CnnExample.Build(inChannels: 3, imageSize: 32),
                p => new Adam(p, learningRate: 1e-3), train, test, defaultEpochs: 10);
        }
    }
}
