using Tensorium;
using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Models;

/// <summary>Command-line options shared by the examples: --data DIR, --epochs N, --limit N, --steps N, --out DIR, --text FILE, --checkpoint DIR, --device D, --graph FILE, --profile.</summary>
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
    /// <summary>bert: a Hugging Face BERT directory (config.json, vocab.txt, model.safetensors) to fine-tune instead of pretraining.</summary>
    public string? CheckpointDirectory { get; private set; }
    /// <summary>autograd: where the tape's picture goes (DOT, and SVG beside it when Graphviz is installed).</summary>
    public string? GraphFile { get; private set; }
    /// <summary>Where the classifiers train: cpu (default), opencl[:N] or cuda[:N].</summary>
    public Device Device { get; private set; } = Device.Cpu;
    /// <summary>--profile: profile a few training steps (<see cref="StepProfile"/>) into the run folder.</summary>
    public bool Profile { get; private set; }

    private readonly Dictionary<string, RunOutputs> _runs = [];

    /// <summary>The run folder of example <paramref name="name"/>, made on first use, so its profile and its outputs land together.</summary>
    public RunOutputs Run(string name)
    {
        if (!_runs.TryGetValue(name, out var run)) _runs[name] = run = new RunOutputs(this, name);
        return run;
    }

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
                case "--checkpoint": o.CheckpointDirectory = Value(); break;
                case "--device": o.Device = ParseDevice(Value()); break;
                case "--graph": o.GraphFile = Value(); break;
                case "--profile": o.Profile = true; break;
                default: throw new ArgumentException($"unknown option {args[i]} (known: --data DIR, --epochs N, --limit N, --steps N, --out DIR, --text FILE, --checkpoint DIR, --device D, --graph FILE, --profile)");
            }
        }
        return o;
    }

    /// <summary>
    /// The --device value, checked against the devices present: a missing GPU is one line at
    /// start-up instead of an unhandled exception (exit 134) when the model first moves there.
    /// </summary>
    public static Device ParseDevice(string text)
    {
        if (!Device.TryParse(text, out var device))
            throw new ArgumentException($"--device {text}: expected cpu, emulated, opencl[:N] or cuda[:N]");
        if (device.IsAvailable) return device;
        var available = Device.Available();
        string family = device.Kind switch { DeviceKind.Cuda => "CUDA", DeviceKind.OpenCL => "OpenCL", _ => device.Kind.ToString() };
        bool none = !available.Any(d => d.Device.Kind == device.Kind);
        string missing = none ? $"no {family} device found" : $"no {family} device {device.Index}";
        throw new ArgumentException($"--device {text}: {missing} (available: {string.Join(", ", available.Select(d => d.Device))})");
    }

    /// <summary>
    /// The line an example prints before it starts: the device and its hardware, and a warning
    /// when a device that sounds like a GPU really runs on the CPU (an OpenCL CPU driver, or the
    /// emulated device), which is slower than the native CPU backend on the same cores.
    /// </summary>
    public static string TrainingOn(Device device) =>
        TrainingOn(Device.Available().FirstOrDefault(d => d.Device == device)
            ?? throw new ArgumentException($"--device {device}: not present on this machine"));

    /// <summary><see cref="TrainingOn(Device)"/> for a described device.</summary>
    public static string TrainingOn(DeviceDescription d)
    {
        if (d.Device == Device.Cpu) return $"Device: cpu ({d.ComputeUnits} cores, native SIMD kernels)";
        string line = $"Device: {d.Device} ({d.Name}, {d.Vendor})";
        return d.IsGpu ? line
            : line + $"\nwarning: {d.Device} is not a GPU: its driver runs it on the CPU, slowly (--device cpu runs the same cores faster)";
    }

    /// <summary>The first --limit examples (for quick runs), or the whole dataset.</summary>
    public IDataset Limit(IDataset data) =>
        MaxExamples is int n && n < data.Count ? new Subset(data, Enumerable.Range(0, n).ToArray()) : data;

    /// <summary>
    /// Saves a classifier's weights (safetensors) with their model card (JSON, so
    /// <c>./build.sh serve</c> serves the model), history (CSV), curves (SVG) and confusion matrix
    /// (text and SVG) in a run folder of their own, and replaces {--out}/{name}.safetensors and
    /// its card (with the history and curves next to them) only when this run's test accuracy is
    /// at least that of the model there (see <see cref="RunOutputs"/>).
    /// </summary>
    /// <returns>The run's outputs (its folder, for files of the example's own).</returns>
    public RunOutputs SaveOutputs(ModelCard card, Module model, History history, ConfusionMatrix? confusion = null)
    {
        string name = card.Name;
        var run = Run(name);
        string title = $"{name}: loss and accuracy per epoch";
        history.WriteCsv(run.InRun($"{name}-history.csv"));
        history.WriteSvg(run.InRun($"{name}-history.svg"), title);
        if (confusion != null)
        {
            File.WriteAllText(run.InRun($"{name}-confusion.txt"), confusion.ToString());
            confusion.WriteSvg(run.InRun($"{name}-confusion.svg"), $"{name}: confusion matrix on the test set");
        }
        if (run.SaveModel(card, model, "test_accuracy", higherIsBetter: true))
        {
            history.WriteCsv(Path.Combine(OutputDirectory, $"{name}-history.csv"));
            history.WriteSvg(Path.Combine(OutputDirectory, $"{name}-history.svg"), title);
        }
        return run;
    }
}
