using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Kernels.Gpu;

/// <summary>
/// The GPU reductions called through the backend against the CPU backend, on the launch shapes
/// the op suite does not reach: rows long enough for a whole group per row (a segment width of
/// 256, each thread folding several elements), and column sums over several column tiles with a
/// ragged last one and fewer rows than slices. Inputs start at a non-zero element offset.
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.Gpus))]
public class ReduceTests(Device device)
{
    private const int Offset = 3;

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    [TestCase(DType.Int32)]
    [TestCase(DType.Int64)]
    public void RowsLongerThanAGroupMatchCpu(DType dtype)
    {
        const int rows = 2, cols = 4100;   // 4100 > 256 threads x 16 elements: the widest segment, 17 elements a thread
        var values = Values(rows * cols, dtype);
        foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Mean, ReduceOp.Max, ReduceOp.Min, ReduceOp.Var })
        {
            var expected = Rows(Device.Cpu, dtype, values, op, rows, cols);
            var actual = Rows(device, dtype, values, op, rows, cols);
            double tol = dtype == DType.Float32 ? 1e-4 : 1e-10;
            Reference.AssertClose(actual, expected, tol, tol, $"{op} {dtype}");
        }
        foreach (bool max in new[] { true, false })
            Assert.That(ArgRows(device, dtype, values, max, rows, cols), Is.EqualTo(ArgRows(Device.Cpu, dtype, values, max, rows, cols)), max ? "argmax" : "argmin");
    }

    [TestCase(DType.Float32, 19, 70)]   // three column tiles, the last ragged
    [TestCase(DType.Float64, 3, 5)]     // fewer rows than slices: most slices add nothing
    [TestCase(DType.Float64, 40, 1)]    // one column
    public void ColumnsMatchCpu(DType dtype, int rows, int cols)
    {
        var values = Values(rows * cols, dtype);
        foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Mean })
        {
            var expected = Columns(Device.Cpu, dtype, values, op, rows, cols);
            var actual = Columns(device, dtype, values, op, rows, cols);
            double tol = dtype == DType.Float32 ? 1e-5 : 1e-12;
            Reference.AssertClose(actual, expected, tol, tol, $"{op} {rows}x{cols}");
        }
    }

    /// <summary>Values in [-2, 4) for floats, small integers for integer types (sums of up to 4100 stay far from wrapping).</summary>
    private static double[] Values(int count, DType dtype)
    {
        var values = Reference.Values(Offset + count, 5).Select(u => 3 * u + 1).ToArray();
        return dtype.IsFloating() ? values : values.Select(v => Math.Round(v * 10)).ToArray();
    }

    private static double[] Rows(Device on, DType dtype, double[] values, ReduceOp op, int rows, int cols)
    {
        using var x = View(on, dtype, values);
        using var y = Tensor.Empty([rows], dtype, on);
        y.Backend("test").ReduceRows(op, x, y, rows, cols, 1);
        return y.ToDoubleArray();
    }

    private static double[] ArgRows(Device on, DType dtype, double[] values, bool max, int rows, int cols)
    {
        using var x = View(on, dtype, values);
        using var y = Tensor.Empty([rows], DType.Int64, on);
        y.Backend("test").ArgReduceRows(max, x, y, rows, cols);
        return y.ToDoubleArray();
    }

    private static double[] Columns(Device on, DType dtype, double[] values, ReduceOp op, int rows, int cols)
    {
        using var x = View(on, dtype, values);
        using var y = Tensor.Empty([cols], dtype, on);
        y.Backend("test").ReduceColumns(op, x, y, rows, cols);
        return y.ToDoubleArray();
    }

    /// <summary>The values after the first <see cref="Offset"/>, as a view starting at that element offset.</summary>
    private static Tensor View(Device on, DType dtype, double[] values)
    {
        using var buffer = Ref.Make(values, [values.Length], on, dtype);
        var x = buffer.Narrow(0, Offset, values.Length - Offset);
        Assert.That(x.Layout.Offset, Is.EqualTo(Offset));
        return x;
    }
}
