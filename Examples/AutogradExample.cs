using Tensorium;

/// <summary>
/// Fits y = 3x - 2 with one weight and one bias by gradient descent, printing the tape of the
/// first step so you can see what reverse mode records and replays.
/// </summary>
static class AutogradExample
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
