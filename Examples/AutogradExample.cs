using Tensorium;

/// <summary>
/// Fits y = 3x - 2 with one weight and one bias by gradient descent, printing the tape of the
/// first step so you can see what reverse mode records and replays, and drawing it (forward ops
/// and, after backward, the gradient flow) when given a graph file.
/// </summary>
static class AutogradExample
{
    /// <summary>Runs the fit; with <paramref name="graphFile"/>, writes the first step's tape as DOT (and SVG) there.</summary>
    public static void Run(string? graphFile = null)
    {
        using (new TensorScope()) Fit(graphFile);
        Console.WriteLine($"live CPU buffers after the scope closed: {Device.Cpu.Pool.LiveBuffers}");
    }

    private static void Fit(string? graphFile)
    {
        var gen = new Generator(7);
        using var x = Tensor.Uniform([64, 1], -1, 1, gen);
        using var target = 3.0 * x - 2.0;
        using var w = Tensor.Zeros([1, 1]);
        using var b = Tensor.Zeros([1]);
        w.RequiresGrad = b.RequiresGrad = true;
        w.Name = "w"; b.Name = "b"; x.Name = "x"; target.Name = "target";

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
            if (step == 0 && graphFile != null) WriteGraph(loss, graphFile);
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

    /// <summary>
    /// Writes the tape behind <paramref name="loss"/> (after its backward, so the picture has the
    /// gradient flow too) as FILE.dot, and as FILE.svg when Graphviz is installed.
    /// </summary>
    private static void WriteGraph(Tensor loss, string graphFile)
    {
        string dotPath = Path.ChangeExtension(graphFile, ".dot");
        string svgPath = Path.ChangeExtension(graphFile, ".svg");
        var directory = Path.GetDirectoryName(Path.GetFullPath(dotPath));
        if (directory != null) Directory.CreateDirectory(directory);
        var dot = TapeGraph.ToDot(loss);
        File.WriteAllText(dotPath, dot);
        Console.WriteLine($"The tape as a graph: {dotPath}");
        if (TapeGraph.TryWriteSvg(dot, svgPath, out var problem)) Console.WriteLine($"Drawn: {svgPath}");
        else Console.WriteLine($"note: {problem}");
        Console.WriteLine();
    }
}
