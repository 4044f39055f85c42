namespace Tensorium.Tests.Kernels.Gpu;

/// <summary>
/// The GPU's fused cross-entropy called through the backend against the CPU backend: loss and
/// log-sum-exp forward, the gradient backward, with and without label smoothing, ignored rows,
/// a per-row scale and a broadcast one (stride 0), on one thread per row (short rows), a tree
/// per row, and rows longer than a group.
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.Gpus))]
public class CrossEntropyTests(Device device)
{
    private const int IgnoreIndex = -100;

    [TestCase(7, 1, 0.0)]
    [TestCase(67, 10, 0.1)]
    [TestCase(13, 40, 0.0)]
    [TestCase(13, 40, 0.2)]
    [TestCase(2, 4100, 0.1)]
    public void ForwardAndBackwardMatchCpu(int rows, int classes, double smoothing)
    {
        var logits = Reference.Values(rows * classes, rows + classes).Select(v => 6 * v).ToArray();
        // Every third row ignored; the others take labels spread over the classes.
        var labels = Enumerable.Range(0, rows).Select(r => r % 3 == 1 ? (double)IgnoreIndex : (r * 7) % classes).ToArray();
        var scale = Reference.Values(rows, 2).Select(v => v + 2).ToArray();
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
            foreach (bool broadcastScale in new[] { false, true })
            {
                string what = $"{rows}x{classes} eps {smoothing} {dtype} scale {(broadcastScale ? "broadcast" : "per row")}";
                var expected = Run(Device.Cpu, dtype, logits, labels, scale, broadcastScale, rows, classes, smoothing);
                var actual = Run(device, dtype, logits, labels, scale, broadcastScale, rows, classes, smoothing);
                double tol = dtype == DType.Float32 ? 2e-5 : 1e-12;
                Reference.AssertClose(actual.Loss, expected.Loss, tol, tol, what + ": loss");
                Reference.AssertClose(actual.LogSumExp, expected.LogSumExp, tol, tol, what + ": log-sum-exp");
                Reference.AssertClose(actual.Grad, expected.Grad, tol, tol, what + ": gradient");
                Assert.That(actual.Loss.Where((_, r) => labels[r] == IgnoreIndex), Is.All.EqualTo(0.0), what + ": ignored rows lose exactly 0");
            }
    }

    private static (double[] Loss, double[] LogSumExp, double[] Grad) Run(Device on, DType dtype, double[] logits, double[] labels, double[] scale,
        bool broadcastScale, int rows, int classes, double smoothing)
    {
        using var x = Ref.Make(logits, [rows, classes], on, dtype);
        using var y = Ref.Make(labels, [rows], on, DType.Int64);
        using var loss = Tensor.Empty([rows], dtype, on);
        using var lse = Tensor.Empty([rows], dtype, on);
        using var scales = Ref.Make(scale, [rows], on, dtype);
        // A broadcast scale: the first row's, seen by every row through a stride of 0.
        using var rowScale = broadcastScale ? scales.Narrow(0, 0, 1).Expand([rows]) : scales.Narrow(0, 0, rows);
        using var grad = Tensor.Empty([rows, classes], dtype, on);
        var backend = x.Backend("test");
        backend.CrossEntropy(x, y, loss, lse, rows, classes, IgnoreIndex, smoothing);
        backend.CrossEntropyBackward(x, lse, y, rowScale, grad, rows, classes, IgnoreIndex, smoothing);
        return (loss.ToDoubleArray(), lse.ToDoubleArray(), grad.ToDoubleArray());
    }
}
