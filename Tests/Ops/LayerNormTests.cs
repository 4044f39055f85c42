namespace Tensorium.Tests.Ops;

/// <summary>
/// The fused layer_norm op (LayerNormOp, the backends' LayerNorm and LayerNormBackward) against
/// plain scalar formulas on awkward shapes (short rows, rows that are not a multiple of a SIMD
/// vector, more rows than the backward pass's chunks), float64 gradient checks with and without
/// the affine parameters, and its argument errors.
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class LayerNormTests(Device device)
{
    private const double Eps = 1e-5;

    /// <summary>Scalar forward: y, and each row's mean and rstd, from the textbook two-pass formulas.</summary>
    private static double[] ReferenceForward(double[] x, double[]? w, double[]? b, int rows, int cols, out double[] mean, out double[] rstd)
    {
        var y = new double[rows * cols];
        mean = new double[rows];
        rstd = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double sum = 0, squares = 0;
            for (int c = 0; c < cols; c++) sum += x[r * cols + c];
            double mu = sum / cols;
            for (int c = 0; c < cols; c++) squares += (x[r * cols + c] - mu) * (x[r * cols + c] - mu);
            double rs = 1 / Math.Sqrt(squares / cols + Eps);
            mean[r] = mu;
            rstd[r] = rs;
            for (int c = 0; c < cols; c++)
                y[r * cols + c] = (x[r * cols + c] - mu) * rs * (w?[c] ?? 1) + (b?[c] ?? 0);
        }
        return y;
    }

    [Test]
    public void ForwardAndBackwardMatchScalarFormulas([Values(1, 7, 33)] int rows, [Values(1, 3, 17, 64, 129)] int cols, [Values] bool affine)
    {
        // Rows shifted away from zero, so the mean matters and a one-pass variance would lose digits.
        var xs = Reference.Values(rows * cols, 1).Select(v => 3 + v).ToArray();
        var ws = affine ? Reference.Values(cols, 2).Select(Ref.Positive).ToArray() : null;
        var bs = affine ? Reference.Values(cols, 3) : null;
        var gys = Reference.Values(rows * cols, 4);
        using var x = Ref.Make(xs, [rows, cols], device);
        using var w = ws == null ? null : Ref.Make(ws, [cols], device);
        using var b = bs == null ? null : Ref.Make(bs, [cols], device);
        using var gy = Ref.Make(gys, [rows, cols], device);
        x.RequiresGrad = true;
        if (w != null) w.RequiresGrad = true;
        if (b != null) b.RequiresGrad = true;
        using var y = x.LayerNorm([cols], w, b, Eps);
        // The float32 inputs as the kernels see them.
        var xf = Ref.AsFloat(xs);
        var wf = ws == null ? null : Ref.AsFloat(ws);
        var expected = ReferenceForward(xf, wf, bs == null ? null : Ref.AsFloat(bs), rows, cols, out var mean, out var rstd);
        // One element per row normalises to 0 exactly (x - mean = 0 up to rounding): absolute tolerance.
        Reference.AssertClose(y.ToDoubleArray(), expected, 2e-5, 1e-4, "layer_norm");

        y.Backward(gy);
        var gyf = Ref.AsFloat(gys);
        var dx = new double[rows * cols];
        var dw = new double[cols];
        var db = new double[cols];
        for (int r = 0; r < rows; r++)
        {
            double sumG = 0, sumGX = 0;
            for (int c = 0; c < cols; c++)
            {
                int i = r * cols + c;
                double xhat = (xf[i] - mean[r]) * rstd[r], g = gyf[i] * (wf?[c] ?? 1);
                sumG += g;
                sumGX += g * xhat;
                dw[c] += gyf[i] * xhat;
                db[c] += gyf[i];
            }
            for (int c = 0; c < cols; c++)
            {
                int i = r * cols + c;
                double xhat = (xf[i] - mean[r]) * rstd[r], g = gyf[i] * (wf?[c] ?? 1);
                dx[i] = rstd[r] * (g - sumG / cols - xhat * sumGX / cols);
            }
        }
        Reference.AssertClose(x.Grad!.ToDoubleArray(), dx, 2e-4, 1e-3, "layer_norm dx");
        if (w == null) return;
        Reference.AssertClose(w.Grad!.ToDoubleArray(), dw, 1e-4, 1e-4, "layer_norm dweight");
        Reference.AssertClose(b!.Grad!.ToDoubleArray(), db, 1e-4, 1e-4, "layer_norm dbias");
    }

    [Test]
    public void Float64ForwardIsExactToRounding()
    {
        var xs = Reference.Values(5 * 129, 5).Select(v => 1000 + v).ToArray();
        using var x = Tensor.FromSpan<double>(xs, [5, 129], device);
        using var y = x.LayerNorm([129]);
        var expected = ReferenceForward(xs, null, null, 5, 129, out _, out _);
        Reference.AssertClose(y.ToDoubleArray(), expected, 1e-10, 1e-10, "float64 layer_norm");
    }

    [Test]
    public void GradientsWithWeightAndBias() =>
        Reference.AssertGradients(t => t[0].LayerNorm([3, 4], t[1], t[2]),
            Ref.Leaf([2, 5, 3, 4], device, 11), Ref.Leaf([3, 4], device, 12, Ref.Positive), Ref.Leaf([3, 4], device, 13));

    [Test]
    public void GradientsWithWeightOnly() =>
        Reference.AssertGradients(t => t[0].LayerNorm([9], t[1]), Ref.Leaf([4, 9], device, 14), Ref.Leaf([9], device, 15, Ref.Positive));

    [Test]
    public void GradientsWithoutAffine() =>
        Reference.AssertGradients(t => t[0].LayerNorm([17]), Ref.Leaf([3, 17], device, 16));

    [Test]
    public void GradientsOfATransposedInput()
    {
        // A non-contiguous input: the op copies it to dense rows and routes the gradient back.
        Reference.AssertGradients(t =>
        {
            using var transposed = t[0].Transpose(0, 1);
            return transposed.LayerNorm([6], t[1], t[2]);
        }, Ref.Leaf([6, 4], device, 17), Ref.Leaf([6], device, 18, Ref.Positive), Ref.Leaf([6], device, 19));
    }

    [Test]
    public void OnlyTheParametersNeedGradients()
    {
        // The input is data (no gradient): the weight and bias still get theirs.
        using var x = Ref.Make(Reference.Values(4 * 9, 20), [4, 9], device, DType.Float64);
        Reference.AssertGradients(t => x.LayerNorm([9], t[0], t[1]), Ref.Leaf([9], device, 21, Ref.Positive), Ref.Leaf([9], device, 22));
    }

    [Test]
    public void NothingRequiresGradRecordsNothing()
    {
        using var x = Reference.Random([3, 8], device, 23);
        using var y = x.LayerNorm([8]);
        Assert.That(y.RequiresGrad, Is.False);
        Assert.That(y.Shape, Is.EqualTo(new[] { 3, 8 }));
    }

    [Test]
    public void EmptyBatchGivesEmptyOutputAndZeroParameterGradients()
    {
        using var x = Tensor.Zeros([0, 5], DType.Float64, device);
        x.RequiresGrad = true;
        using var w = Ref.Leaf([5], device, 24);
        using var y = x.LayerNorm([5], w);
        using var loss = y.Sum();
        loss.Backward();
        Assert.That(y.Shape, Is.EqualTo(new[] { 0, 5 }));
        Assert.That(w.Grad!.ToDoubleArray(), Is.EqualTo(new double[5]));
    }

    [Test]
    public void RejectsAnInputWhoseTrailingDimsDiffer()
    {
        using var x = Tensor.Zeros([3, 5], device: device);
        Ref.Throws<ArgumentException>(() => x.LayerNorm([4]), "layer_norm", "[..., 4]", "[3, 5]");
    }

    [Test]
    public void RejectsAWeightOfTheWrongShape()
    {
        using var x = Tensor.Zeros([3, 4], device: device);
        using var w = Tensor.Ones([2, 2], device: device);
        Ref.Throws<ArgumentException>(() => x.LayerNorm([4], w), "layer_norm", "weight", "[4]", "[2, 2]");
    }

    [Test]
    public void RejectsABiasOfAnotherDType()
    {
        using var x = Tensor.Zeros([3, 4], device: device);
        using var b = Tensor.Zeros([4], DType.Float64, device);
        Ref.Throws<ArgumentException>(() => x.LayerNorm([4], bias: b), "layer_norm", "float32", "float64");
    }

    [Test]
    public void RejectsAnIntegerInputAndABadEps()
    {
        using var ints = Tensor.Zeros([3, 4], DType.Int32, device);
        Ref.Throws<ArgumentException>(() => ints.LayerNorm([4]), "layer_norm", "int32");
        using var x = Tensor.Zeros([3, 4], device: device);
        Ref.Throws<ArgumentException>(() => x.LayerNorm([4], eps: -1), "layer_norm", "eps", "-1");
        Ref.Throws<ArgumentException>(() => x.LayerNorm([]), "layer_norm", "normalized shape", "[]");
    }
}
