// Runnable examples, one subcommand each. `./build.sh demo` runs "cnn", the main job.
string command = args.Length > 0 ? args[0] : "cnn";
if (command is "help" or "--help" or "-h")
{
    Console.WriteLine(Usage.Text);
    return 0;
}
ExampleOptions options;
try
{
    options = ExampleOptions.Parse(args.Skip(1).ToArray());
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(Usage.Text);
    return 2;
}
switch (command)
{
    case "cnn":
        return CnnExample.Run(options);
    case "mlp":
        return MlpExample.Run(options);
    case "lstm":
        return LstmExample.Run(options);
    case "transformer":
        return TransformerExample.Run(options);
    case "seq2seq":
        return Seq2SeqExample.Run(options);
    case "transfer":
        return TransferExample.Run(options);
    case "cifar":
        return CifarExample.Run(options);
    case "autograd":
        AutogradExample.Run();
        return 0;
    default:
        Console.Error.WriteLine($"unknown example '{command}'");
        Console.Error.WriteLine(Usage.Text);
        return 2;
}

static class Usage
{
    public const string Text = """
        usage: Tensorium.Examples [EXAMPLE] [--data DIR] [--epochs N] [--limit N] [--steps N] [--out DIR] [--text FILE] [--device D]
        examples:
          cnn          Keras tutorial CNN on Fashion-MNIST (the default)
          mlp          784-128-10 perceptron on Fashion-MNIST, plain SGD
          lstm         two stacked LSTMs reading Fashion-MNIST images row by row
          transformer  causal character-level Transformer LM on the King James Bible (or --text FILE)
          seq2seq      encoder-decoder Transformer learning to reverse digit strings
          transfer     CNN pre-trained on Fashion-MNIST classes 0-4, frozen base, fine-tuned on 5-9
          cifar        the CNN on CIFAR-10 binaries (needs --data DIR)
          autograd     a tiny gradient-descent fit that prints its tape
        options:
          --data DIR    dataset directory (default /usr/share/datasets/fashion-mnist)
          --epochs N    epochs (transformer, seq2seq: evaluation rounds)
          --limit N     use only the first N examples (N characters of text for transformer)
          --steps N     optimizer steps per epoch (transformer, seq2seq)
          --out DIR     where weights, history and curves go (default artifacts/examples)
          --text FILE   training text for transformer
          --device D    cnn, mlp, lstm, cifar: train on cpu (default), opencl[:N] or cuda[:N]
        """;
}
