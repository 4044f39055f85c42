using Tensorium;

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
        AutogradDemo.Run();
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

/// <summary>
/// Fits y = 3x - 2 with one weight and one bias by gradient descent, printing the tape of the
/// first step so you can see what reverse mode records and replays.
/// </summary>
static class AutogradDemo
{
    public static void Run()
    {
        using (new TensorScope()) Fit();
        Console.WriteLine($"live CPU buffers after the scope closed: {Device.Cpu.Pool.LiveBuffers}");
    }

    private static void Fit()
    {
        var gen = new Generator(7);
        using var x = Tensor.Uniform([64, 1], -1, 1, gen);
        using var target = 3.0 * x - 2.0;
        using var w = Tensor.Zeros([1, 1]);
        using var b = Tensor.Zeros([1]);
        w.RequiresGrad = b.RequiresGrad = true;
        w.Name = "w"; b.Name = "b"; x.Name = "x";

        for (int step = 0; step <= 60; step++)
        {
            using var scope = new TensorScope();
            var prediction = x.MatMul(w) + b;
            var loss = (prediction - target).Square().Mean();
            if (step == 0)
            {
                Console.WriteLine("The tape of one step (newest last):");
                Console.WriteLine(Tape.Format(loss));
                Console.WriteLine();
            }
            loss.Backward();
            if (step % 10 == 0)
                Console.WriteLine($"step {step,3}  loss {loss.Item():F6}  w {w.Item():F4}  b {b.Item():F4}  dL/dw {w.Grad!.Item():F4}");
            using (Tape.NoGrad())
            {
                // Plain SGD: w -= 0.1 * grad.
                using var newW = w - 0.1 * w.Grad!;
                using var newB = b - 0.1 * b.Grad!;
                w.CopyFrom(newW);
                b.CopyFrom(newB);
            }
            w.ZeroGrad();
            b.ZeroGrad();
        }
        Console.WriteLine($"learned w = {w.Item():F4} (true 3), b = {b.Item():F4} (true -2)");
    }
}
