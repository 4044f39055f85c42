namespace Tensorium.Tests.Kernels.Gpu;

/// <summary>
/// The GPU softmax and log-softmax called through the backend against the CPU backend, on what
/// the op suite does not reach: rows long enough for a whole group per row, and rows of special
/// values (all -inf, +inf, NaN, a -inf among finite values), both with one thread per row and
/// with a tree that merges partial normalisers of which some saw only -inf.
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.Gpus))]
public class SoftmaxTests(Device device)
{
    [Test]
    public void RowsLongerThanAGroupMatchCpu([Values] bool log, [Values(DType.Float32, DType.Float64)] DType dtype)
    {
        const int rows = 2, cols = 4100;
        var x = Reference.Values(rows * cols, 9).Select(u => 8 * u).ToArray();
        var gradY = Reference.Values(rows * cols, 10);
        double tol = dtype == DType.Float32 ? 1e-6 : 1e-14;
        var (y, gradX) = Run(device, dtype, log, x, gradY, rows, cols);
        var (yCpu, gradXCpu) = Run(Device.Cpu, dtype, log, x, gradY, rows, cols);
        Reference.AssertClose(y, yCpu, tol, 1e-5, "forward");
        Reference.AssertClose(gradX, gradXCpu, tol, 1e-5, "backward");
    }

    [Test]
    public void SpecialValuesMatchCpu([Values] bool log, [Values(3, 40)] int cols)
    {
        // Row 0 all -inf; row 1 holds +inf; row 2 a NaN; row 3 a -inf among finite values (it
        // gets probability 0); in the 40-column case the specials sit in different lanes.
        const int rows = 4;
        var x = Reference.Values(rows * cols, 4).ToArray();
        for (int c = 0; c < cols; c++) x[c] = double.NegativeInfinity;
        x[cols + cols - 1] = double.PositiveInfinity;
        x[2 * cols + 1] = double.NaN;
        x[3 * cols + cols / 2] = double.NegativeInfinity;
        var gradY = Reference.Values(rows * cols, 3);
        var (y, _) = Run(device, DType.Float64, log, x, gradY, rows, cols);
        var (yCpu, _) = Run(Device.Cpu, DType.Float64, log, x, gradY, rows, cols);
        Reference.AssertClose(y, yCpu, 1e-14, 1e-13, log ? "log_softmax" : "softmax");
    }

    /// <summary>The forward output y, and the backward pass's gradX from that y and gradY.</summary>
    private static (double[] Y, double[] GradX) Run(Device on, DType dtype, bool log, double[] x, double[] gradY, int rows, int cols)
    {
        using var input = Ref.Make(x, [rows, cols], on, dtype);
        using var y = Tensor.Empty([rows, cols], dtype, on);
        using var gy = Ref.Make(gradY, [rows, cols], on, dtype);
        using var gx = Tensor.Empty([rows, cols], dtype, on);
        var backend = y.Backend("test");
        backend.Softmax(log, input, y, rows, cols);
        backend.SoftmaxBackward(log, y, gy, gx, rows, cols);
        return (y.ToDoubleArray(), gx.ToDoubleArray());
    }
}
