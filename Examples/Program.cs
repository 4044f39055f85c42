// Runnable examples, one subcommand each. `./build.sh demo` runs "cnn", the main job.
return ExampleCommand.Run(args);

/// <summary>The command line: picks the example, parses and checks its options, runs it; the exit code.</summary>
static class ExampleCommand
{
    /// <summary>The examples that can train on another device than the CPU (--device).</summary>
    public static readonly string[] DeviceExamples = ["cnn", "mlp", "lstm", "cifar"];

    /// <summary>Runs the example named by <paramref name="args"/>[0] ("cnn" when empty); 2 for a usage error.</summary>
    public static int Run(string[] args)
    {
        string command = args.Length > 0 ? args[0] : "cnn";
        if (command is "help" or "--help" or "-h")
        {
            Console.WriteLine(Usage.Text);
            return 0;
        }
        if (!DeviceExamples.Contains(command) && command is not ("transformer" or "bert" or "seq2seq" or "transfer" or "autograd"))
        {
            Console.Error.WriteLine($"error: unknown example '{command}'");
            Console.Error.WriteLine(Usage.Text);
            return 2;
        }
        ExampleOptions options;
        try
        {
            options = ExampleOptions.Parse(args.Skip(1).ToArray());
            CheckDevice(command, options.Device);
            // Only the autograd example draws its tape; another would ignore the option silently.
            if (options.GraphFile != null && command != "autograd")
                throw new ArgumentException($"--graph {options.GraphFile}: only the autograd example draws its tape (./build.sh demo autograd --graph FILE)");
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            // One line: the mistake and what would be right (an unknown option lists the known ones).
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        Console.WriteLine(ExampleOptions.TrainingOn(options.Device));
        switch (command)
        {
            case "cnn": return CnnExample.Run(options);
            case "mlp": return MlpExample.Run(options);
            case "lstm": return LstmExample.Run(options);
            case "cifar": return CifarExample.Run(options);
            case "transformer": return TransformerExample.Run(options);
            case "bert": return BertExample.Run(options);
            case "seq2seq": return Seq2SeqExample.Run(options);
            case "transfer": return TransferExample.Run(options);
            default:
                AutogradExample.Run(options.GraphFile);
                return 0;
        }
    }

    /// <summary>
    /// Throws when <paramref name="device"/> is not the CPU and <paramref name="command"/> cannot
    /// train elsewhere: such an example used to ignore --device and train on the CPU silently.
    /// </summary>
    public static void CheckDevice(string command, Tensorium.Device device)
    {
        if (device != Tensorium.Device.Cpu && !DeviceExamples.Contains(command))
            throw new ArgumentException(
                $"--device {device}: the {command} example runs on the CPU only (--device applies to {string.Join(", ", DeviceExamples)})");
    }
}

static class Usage
{
    public const string Text = """
        usage: Tensorium.Examples [EXAMPLE] [--data DIR] [--epochs N] [--limit N] [--steps N] [--out DIR] [--text FILE] [--checkpoint DIR] [--device D] [--graph FILE] [--profile]
        examples:
          cnn          Keras tutorial CNN on Fashion-MNIST (the default)
          mlp          784-128-10 perceptron on Fashion-MNIST, plain SGD
          lstm         two stacked LSTMs reading Fashion-MNIST images row by row
          transformer  causal character-level Transformer LM on the King James Bible (or --text FILE)
          bert         BERT on the King James Bible: masked-LM pretraining, then fine-tuning to tell which part
                       of the Bible a verse is from, against the same model trained from scratch
          seq2seq      encoder-decoder Transformer learning to reverse digit strings
          transfer     CNN pre-trained on Fashion-MNIST classes 0-4, frozen base, fine-tuned on 5-9
          cifar        the CNN on CIFAR-10 binaries (needs --data DIR)
          autograd     a tiny gradient-descent fit that prints its tape (and draws it with --graph FILE)
        options:
          --data DIR    dataset directory (default /usr/share/datasets/fashion-mnist)
          --epochs N    epochs (transformer, seq2seq: evaluation rounds; bert: fine-tuning epochs)
          --limit N     use only the first N examples (N characters of text for transformer; bert: N labelled
                        training verses, as many test verses (100 to 2000) and 10 N verses of pretraining text)
          --steps N     optimizer steps per epoch (transformer, seq2seq; bert: pretraining steps in all)
          --out DIR     where outputs go (default artifacts/examples): each run in runs/NAME-TIME,
                        and NAME.safetensors replaced only by a run that scores at least as well
          --text FILE   training text for transformer
          --checkpoint DIR  bert: fine-tune this Hugging Face BERT directory (config.json, vocab.txt,
                        model.safetensors) instead of pretraining
          --device D    cnn, mlp, lstm, cifar: train on cpu (default), opencl[:N] or cuda[:N]
                        (checked at start: a device that is not present is an error)
          --graph FILE  autograd: the first step's tape as Graphviz DOT in FILE.dot, and FILE.svg
                        when Graphviz's dot is installed
          --profile     profile training steps 3-7 (fewer if an epoch, and so validation, comes
                        first): op table printed and, with a Chrome trace
                        (ui.perfetto.dev), written to the run folder as NAME-profile.txt/.trace.json
        """;
}
