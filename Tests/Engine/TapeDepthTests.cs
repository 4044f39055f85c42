namespace Tensorium.Tests.Engine;

/// <summary>
/// The tape walks a deep graph without recursion. Run on the CPU only: the walk is the same code on
/// every device, and 40,000 ops would take the emulated device minutes (each op is a kernel launch).
/// </summary>
public class TapeDepthTests
{
    [Test]
    public void DeepChainDoesNotOverflowTheStack()
    {
        const int n = 20_000;
        using var x = Tensor.FromSpan<double>([1.0], [1]);
        x.RequiresGrad = true;
        using (new TensorScope())
        {
            var y = x;
            for (int i = 0; i < n; i++) y = y * 1.0001 + 0.0;   // two ops per step
            var s = y.Sum();
            s.Backward();
        }
        Assert.That(x.Grad!.Item(), Is.EqualTo(Math.Pow(1.0001, n)).Within(1e-9));
    }
}
