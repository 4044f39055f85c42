namespace Tensorium.Tests.Ops;

[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class MatMulTests(Device device)
{
    /// <summary>Plain triple loop over broadcast batch dims, in double; a and b are at least 2-d.</summary>
    private static (double[] Values, int[] Shape) Reference2(double[] a, int[] sa, double[] b, int[] sb)
    {
        int m = sa[^2], k = sa[^1], n = sb[^1];
        Assert.That(sb[^2], Is.EqualTo(k));
        int rank = Math.Max(sa.Length, sb.Length) - 2;
        var ba = sa[..^2]; var bb = sb[..^2];
        var batch = Enumerable.Range(0, rank).Select(i =>
        {
            int da = i - (rank - ba.Length) >= 0 ? ba[i - (rank - ba.Length)] : 1;
            int db = i - (rank - bb.Length) >= 0 ? bb[i - (rank - bb.Length)] : 1;
            return Math.Max(da, db);
        }).ToArray();
        var shape = batch.Append(m).Append(n).ToArray();
        var y = Ref.Build(shape, ix =>
        {
            var bix = ix[..^2];
            int offA = Reference.BroadcastFlat(bix, ba) * m * k, offB = Reference.BroadcastFlat(bix, bb) * k * n;
            double s = 0;
            for (int p = 0; p < k; p++) s += a[offA + ix[^2] * k + p] * b[offB + p * n + ix[^1]];
            return s;
        });
        return (y, shape);
    }

    private void Check(int[] sa, int[] sb, DType dtype, bool transA = false, bool transB = false, int seed = 1)
    {
        // With transA the data are stored as [..., k, m] and the operand is its transpose (non-contiguous); same for b.
        var va = Reference.Values(Ref.Count(sa), seed); var vb = Reference.Values(Ref.Count(sb), seed + 100);
        if (dtype == DType.Float32) { va = Ref.AsFloat(va); vb = Ref.AsFloat(vb); }
        using var a0 = Ref.Make(va, transA ? sa[..^2].Append(sa[^1]).Append(sa[^2]).ToArray() : sa, device, dtype);
        using var b0 = Ref.Make(vb, transB ? sb[..^2].Append(sb[^1]).Append(sb[^2]).ToArray() : sb, device, dtype);
        using var a = transA ? a0.Transpose(-1, -2) : a0.Contiguous();
        using var b = transB ? b0.Transpose(-1, -2) : b0.Contiguous();
        using var y = a.MatMul(b);
        var (expected, shape) = Reference2(a.ToDoubleArray(), sa, b.ToDoubleArray(), sb);
        Assert.That(y.Shape, Is.EqualTo(shape));
        double tol = dtype == DType.Float32 ? 1e-5 * Math.Sqrt(sa[^1] + 1) : 1e-13 * (sa[^1] + 1);
        Reference.AssertClose(y.ToDoubleArray(), expected, tol, dtype == DType.Float32 ? 1e-5 : 1e-12, $"{Layout.Format(sa)} @ {Layout.Format(sb)}");
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void TwoDimensional(DType dtype)
    {
        Check([7, 5], [5, 3], dtype);
        Check([1, 1], [1, 1], dtype);
        Check([1, 9], [9, 1], dtype);
        Check([67, 45], [45, 33], dtype);
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void TransposedOperands(DType dtype)
    {
        Check([67, 45], [45, 33], dtype, transA: true);
        Check([67, 45], [45, 33], dtype, transB: true);
        Check([13, 9], [9, 11], dtype, transA: true, transB: true);
        Check([3, 13, 9], [9, 11], dtype, transA: true, transB: true);
        Check([1, 9], [9, 1], dtype, transA: true, transB: true);
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void BatchedWithBroadcasting(DType dtype)
    {
        Check([2, 1, 3, 4], [5, 4, 2], dtype);
        Check([5, 4, 2], [2, 1, 2, 3], dtype);
        Check([3, 6, 5], [5, 4], dtype);
        Check([6, 5], [3, 5, 4], dtype);
        Check([2, 3, 4, 5], [2, 3, 5, 6], dtype, transA: true);
        Check([2, 1, 3, 4], [1, 5, 4, 2], dtype, transB: true);
    }

    [Test]
    public void BatchedOperandThatIsASlice()
    {
        // Every other batch entry of a [6, 4, 3] tensor: strides allow one batch stride, no copy needed.
        var va = Reference.Values(6 * 4 * 3, 31); var vb = Reference.Values(3 * 5, 32);
        using var a0 = Ref.Make(va, [6, 4, 3], device, DType.Float64);
        using var a = a0.Slice(0, 1, 6, 2);   // [3, 4, 3]
        using var b = Ref.Make(vb, [3, 5], device, DType.Float64);
        using var y = a.MatMul(b);
        var (expected, shape) = Reference2(a.ToDoubleArray(), [3, 4, 3], vb, [3, 5]);
        Assert.That(y.Shape, Is.EqualTo(shape));
        Reference.AssertClose(y.ToDoubleArray(), expected, 1e-14, 1e-13, "slice batch");
        // A broadcast (expanded) batch operand.
        using var b1 = b.Unsqueeze(0);
        using var be = b1.Expand(3, 3, 5);
        using var y2 = a.MatMul(be);
        Reference.AssertClose(y2.ToDoubleArray(), expected, 1e-14, 1e-13, "expanded batch");
    }

    [Test]
    public void VectorOperands()
    {
        var va = Reference.Values(5, 33); var vm = Reference.Values(5 * 3, 34); var vn = Reference.Values(4 * 5, 35);
        using var v = Ref.Make(va, [5], device, DType.Float64);
        using var m = Ref.Make(vm, [5, 3], device, DType.Float64);
        using var n = Ref.Make(vn, [4, 5], device, DType.Float64);
        using (var y = v.MatMul(m))
        {
            Assert.That(y.Shape, Is.EqualTo(new[] { 3 }));
            Reference.AssertClose(y.ToDoubleArray(), Reference2(va, [1, 5], vm, [5, 3]).Values, 1e-14, 1e-13, "1-d @ 2-d");
        }
        using (var y = n.MatMul(v))
        {
            Assert.That(y.Shape, Is.EqualTo(new[] { 4 }));
            Reference.AssertClose(y.ToDoubleArray(), Reference2(vn, [4, 5], va, [5, 1]).Values, 1e-14, 1e-13, "2-d @ 1-d");
        }
        using (var y = v.MatMul(v))
        {
            Assert.That(y.Rank, Is.Zero);
            Assert.That(y.Item(), Is.EqualTo(va.Sum(x => x * x)).Within(1e-13));
        }
        using var batch = Ref.Make(Reference.Values(2 * 5 * 3, 36), [2, 5, 3], device, DType.Float64);
        using (var y = v.MatMul(batch))
        {
            Assert.That(y.Shape, Is.EqualTo(new[] { 2, 3 }));
            Reference.AssertClose(y.ToDoubleArray(), Reference2(va, [1, 5], batch.ToDoubleArray(), [2, 5, 3]).Values, 1e-14, 1e-13, "1-d @ 3-d");
        }
    }

    [Test]
    public void EmptyInnerDimensionGivesZeros()
    {
        using var a = Tensor.Zeros([3, 0], device: device);
        using var b = Tensor.Zeros([0, 4], device: device);
        using var y = a.MatMul(b);
        Assert.That(y.Shape, Is.EqualTo(new[] { 3, 4 }));
        Assert.That(y.ToDoubleArray(), Is.EqualTo(new double[12]));
        using var c = Tensor.Zeros([0, 5], device: device);
        using var d = Tensor.Zeros([5, 2], device: device);
        using var z = c.MatMul(d);
        Assert.That(z.Shape, Is.EqualTo(new[] { 0, 2 }));
    }

    [Test]
    public void IntegerMatMulIsRejected()
    {
        using var a = Tensor.Zeros([2, 2], DType.Int32, device);
        Ref.Throws<ArgumentException>(() => a.MatMul(a), "matmul", "int32");
    }

    // ---- Gradients ------------------------------------------------------------------------

    [Test] public void Gradient2d() => Reference.AssertGradients(x => x[0].MatMul(x[1]), Ref.Leaf([3, 4], device, 1), Ref.Leaf([4, 2], device, 2));
    [Test] public void GradientVectorMatrix() => Reference.AssertGradients(x => x[0].MatMul(x[1]), Ref.Leaf([4], device, 1), Ref.Leaf([4, 3], device, 2));
    [Test] public void GradientMatrixVector() => Reference.AssertGradients(x => x[0].MatMul(x[1]), Ref.Leaf([3, 4], device, 1), Ref.Leaf([4], device, 2));
    [Test] public void GradientDot() => Reference.AssertGradients(x => x[0].MatMul(x[1]), Ref.Leaf([4], device, 1), Ref.Leaf([4], device, 2));
    [Test] public void GradientBatchedBroadcast() => Reference.AssertGradients(x => x[0].MatMul(x[1]), Ref.Leaf([2, 1, 3, 4], device, 1), Ref.Leaf([3, 4, 2], device, 2));
    [Test] public void GradientBatchedWithMatrix() => Reference.AssertGradients(x => x[0].MatMul(x[1]), Ref.Leaf([2, 3, 4], device, 1), Ref.Leaf([4, 2], device, 2));
    /// <summary>A strided batch times a shared transposed matrix (a Linear layer's pattern): the weight's gradient is one stacked GEMM.</summary>
    [Test] public void GradientStridedBatchWithSharedMatrix() =>
        Reference.AssertGradients(x => x[0].Transpose(-1, -2).MatMul(x[1].T), Ref.Leaf([2, 3, 5, 4], device, 1), Ref.Leaf([2, 5], device, 2));
    [Test] public void GradientTransposed() => Reference.AssertGradients(x => x[0].T.MatMul(x[1].T), Ref.Leaf([4, 3], device, 1), Ref.Leaf([2, 4], device, 2));
    [Test] public void GradientVectorBatched() => Reference.AssertGradients(x => x[0].MatMul(x[1]), Ref.Leaf([4], device, 1), Ref.Leaf([2, 4, 3], device, 2));

    [Test]
    public void GradientWithAnEmptyDimensionAndASharedMatrix()
    {
        // A batch against one matrix takes the stacked-rows path of the weight gradient; an empty
        // k or n must still give empty gradients of the inputs' shapes (zeros where k is 0).
        foreach (var (sa, sb) in new (int[], int[])[] { ([2, 3, 0], [0, 4]), ([2, 3, 4], [4, 0]) })
        {
            using var scope = new TensorScope();
            var a = Tensor.Ones(sa, DType.Float64, device);
            var b = Tensor.Ones(sb, DType.Float64, device);
            a.RequiresGrad = true;
            b.RequiresGrad = true;
            a.MatMul(b).Sum().Backward();
            Assert.That(a.Grad!.Shape, Is.EqualTo(sa));
            Assert.That(b.Grad!.Shape, Is.EqualTo(sb));
            Assert.That(a.Grad.ToDoubleArray().Concat(b.Grad.ToDoubleArray()), Is.All.EqualTo(0.0));
        }
    }

    [Test]
    public void GradientOnlyOneSide()
    {
        using var w = Ref.Make(Reference.Values(8, 3), [4, 2], device, DType.Float64);
        Reference.AssertGradients(x => x[0].MatMul(w), Ref.Leaf([3, 4], device, 1));
        Reference.AssertGradients(x => w.T.MatMul(x[0]), Ref.Leaf([4, 3], device, 2));
    }

    [Test]
    public void SameOperandOnBothSides() => Reference.AssertGradients(x => x[0].MatMul(x[0].T), Ref.Leaf([3, 4], device, 5));

    [Test]
    public void OperandsWithOffsets()
    {
        var va = Reference.Values(7 * 5, 37); var vb = Reference.Values(5 * 9, 38);
        using var a0 = Ref.Make(va, [7, 5], device, DType.Float64);
        using var b0 = Ref.Make(vb, [5, 9], device, DType.Float64);
        using var a = a0.Narrow(0, 3, 4);     // rows 3..6: offset 15
        using var b = b0.Narrow(1, 2, 3);     // columns 2..4: strided rows
        using var y = a.MatMul(b);
        var (expected, shape) = Reference2(va.Skip(15).ToArray(), [4, 5], Ref.Build([5, 3], ix => Ref.Get(vb, [5, 9], ix[0], ix[1] + 2)), [5, 3]);
        Assert.That(y.Shape, Is.EqualTo(shape));
        Reference.AssertClose(y.ToDoubleArray(), expected, 1e-14, 1e-13, "offset operands");
        using var at = a0.T.Narrow(1, 1, 4);  // transposed with an offset
        using var y2 = at.MatMul(a);
        var atv = Ref.Build([5, 4], ix => Ref.Get(va, [7, 5], ix[1] + 1, ix[0]));
        Reference.AssertClose(y2.ToDoubleArray(), Reference2(atv, [5, 4], va.Skip(15).ToArray(), [4, 5]).Values, 1e-14, 1e-13, "transposed offset operand");
    }
}
