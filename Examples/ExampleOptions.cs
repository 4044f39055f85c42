using Tensorium;
using Tensorium.Data;
using Tensorium.Layers;

/// <summary>Command-line options shared by the examples: --data DIR, --epochs N, --limit N, --steps N, --out DIR, --text FILE, --device D.</summary>
sealed class ExampleOptions
{
    public string DataDirectory { get; private set; } = "/usr/share/datasets/fashion-mnist";
    public int? Epochs { get; private set; }
    public int? MaxExamples { get; private set; }
    /// <summary>Optimizer steps (per epoch) for the examples with their own training loop (transformer, seq2seq).</summary>
    public int? Steps { get; private set; }
    /// <summary>Whether --data was given (the CIFAR-10 example has no default directory).</summary>
    public bool DataGiven { get; private set; }
    public string OutputDirectory { get; private set; } = "artifacts/examples";
    public string? TextFile { get; private set; }
    /// <summary>Where the classifiers train: cpu (default), opencl[:N] or cuda[:N].</summary>
    public Device Device { get; private set; } = Device.Cpu;

    public static ExampleOptions Parse(string[] args)
    {
        var o = new ExampleOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option {args[i]} needs a value");
            switch (args[i])
            {
                case "--data": o.DataDirectory = Value(); o.DataGiven = true; break;
                case "--epochs": o.Epochs = int.Parse(Value()); break;
                case "--limit": o.MaxExamples = int.Parse(Value()); break;
                case "--steps": o.Steps = int.Parse(Value()); break;
                case "--out": o.OutputDirectory = Value(); break;
                case "--text": o.TextFile = Value(); break;
                case "--device": o.Device = Device.Parse(Value()); break;
                default: throw new ArgumentException($"unknown option {args[i]} (known: --data DIR, --epochs N, --limit N, --steps N, --out DIR, --text FILE, --device D)");
            }
        }
        return o;
    }

    /// <summary>The first --limit examples (for quick runs), or the whole dataset.</summary>
    public IDataset Limit(IDataset data) =>
        MaxExamples is int n && n < data.Count ? new Subset(data, Enumerable.Range(0, n).ToArray()) : data;

    /// <summary>Saves the weights (safetensors), the history (CSV) and the curves (SVG), and says where.</summary>
    public void SaveOutputs(string name, Module model, History history)
    {
        Directory.CreateDirectory(OutputDirectory);
        string weights = Path.Combine(OutputDirectory, $"{name}.safetensors");
        Checkpoint.Save(weights, model);
        history.WriteCsv(Path.Combine(OutputDirectory, $"{name}-history.csv"));
        history.WriteSvg(Path.Combine(OutputDirectory, $"{name}-history.svg"), $"{name}: loss and accuracy per epoch");
        Console.WriteLine($"saved the model to {weights}, history and curves to {OutputDirectory}/{name}-history.csv/.svg");
    }
}
