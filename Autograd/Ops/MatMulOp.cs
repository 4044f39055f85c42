namespace Tensorium;

/// <summary>
/// Matrix product with batch broadcasting (torch.matmul rules). Forward is one batched GEMM;
/// backward is two more: dA = dY Bᵀ and dB = Aᵀ dY, summed over broadcast batch dims.
/// </summary>
public static class MatMulOp
{
    extension(Tensor a)
    {
        /// <summary>
        /// a @ b. 1-d operands are treated as a row (a) or column (b) vector and that dim is dropped
        /// from the result; leading (batch) dims broadcast.
        /// </summary>
        public Tensor MatMul(Tensor b)
        {
            const string op = "matmul";
            OpChecks.SameDevice(op, a, b);
            OpChecks.SameDType(op, a, b);
            OpChecks.Floating(op, a);
            if (a.Rank == 0 || b.Rank == 0)
                throw new ArgumentException($"matmul: both operands need at least one dimension, got shapes {Layout.Format(a.Layout.Shape)} and {Layout.Format(b.Layout.Shape)}.");
            using var a2 = a.Rank == 1 ? a.Unsqueeze(0) : a.View(a.Layout, op);
            using var b2 = b.Rank == 1 ? b.Unsqueeze(1) : b.View(b.Layout, op);
            var y = Forward(a2, b2);
            if (a.Rank == 1 || b.Rank == 1)
            {
                using var full = y;
                var shape = full.Layout.Shape.ToList();
                if (b.Rank == 1) shape.RemoveAt(shape.Count - 1);
                if (a.Rank == 1) shape.RemoveAt(shape.Count - (b.Rank == 1 ? 1 : 2));
                y = full.View(Layout.Contiguous(shape.ToArray()), op);
            }
            return Tape.Record(op, y, [a, b], (g, s) =>
            {
                // Work in the 2-d-or-more form, then fold back to the inputs' shapes.
                using var a2 = s[0].Rank == 1 ? s[0].Unsqueeze(0) : s[0].View(s[0].Layout, op);
                using var b2 = s[1].Rank == 1 ? s[1].Unsqueeze(1) : s[1].View(s[1].Layout, op);
                var gShape = Plan(a2, b2).Shape;
                using var g2 = g.Reshape(gShape);
                Tensor? ga = null, gb = null;
                if (a.RequiresGrad)
                {
                    using var bt = b2.Transpose(-1, -2);
                    using var full = Forward(g2, bt);
                    using var summed = full.SumTo(a2.Layout.Shape);
                    ga = summed.Reshape(a.Layout.Shape);
                }
                if (b.RequiresGrad && a2.Rank >= 2 && b2.Rank == 2)
                {
                    // A matrix shared by a batch (a Linear layer's weight over [batch, tokens, in]):
                    // the batch sum of a_i^T g_i is one GEMM over the stacked rows, A^T G with
                    // depth batch*m, rather than a batch of shallow products summed afterwards.
                    // Sizes spelled out rather than -1, which cannot be inferred when k or n is 0.
                    int stacked = a2.Layout.Shape[..^1].Aggregate(1, (x, y) => x * y);
                    using var rowsA = a2.Rank == 2 ? a2.View(a2.Layout, op) : a2.Reshape(stacked, a2.Layout.Shape[^1]);
                    using var rowsG = g2.Rank == 2 ? g2.View(g2.Layout, op) : g2.Reshape(stacked, g2.Layout.Shape[^1]);
                    using var full = WeightGradient(rowsA, rowsG, b2);
                    gb = full.Reshape(b.Layout.Shape);
                }
                else if (b.RequiresGrad)
                {
                    using var at = a2.Transpose(-1, -2);
                    using var full = Forward(at, g2);
                    using var summed = full.SumTo(b2.Layout.Shape);
                    gb = summed.Reshape(b.Layout.Shape);
                }
                return [ga, gb];
            }, a, b);
        }
    }

    /// <summary>
    /// The gradient of a matrix operand b [k, n] shared by the rows of a [rows, k] with output
    /// gradient g [rows, n]: aᵀ g, in the memory order b itself has. When b is a transposed view
    /// (a Linear layer's Wᵀ, with W [n, k] row-major) the product is computed as (gᵀ a)ᵀ: the
    /// gradient then reaches W through the transpose's backward as a row-major [n, k] tensor, and
    /// lands in W.Grad without a strided copy (a transposing copy of the whole weight every step,
    /// which cost a Linear layer's training step as much as the bias add and ReLU together).
    /// </summary>
    private static Tensor WeightGradient(Tensor a, Tensor g, Tensor b)
    {
        var strides = b.Layout.Strides;
        int k = b.Layout.Shape[0], n = b.Layout.Shape[1];
        bool columnMajor = k > 1 && n > 1 && strides[0] == 1 && strides[1] == k;
        if (!columnMajor)
        {
            using var at = a.Transpose(0, 1);
            return Forward(at, g);
        }
        using var gt = g.Transpose(0, 1);
        using var product = Forward(gt, a);   // [n, k], row-major
        return product.Transpose(0, 1);
    }

    private static (int[] Shape, int[] Batch, int M, int N, int K) Plan(Tensor a, Tensor b)
    {
        int m = a.Layout.Shape[^2], k = a.Layout.Shape[^1], kb = b.Layout.Shape[^2], n = b.Layout.Shape[^1];
        if (k != kb)
            throw new ArgumentException($"matmul: inner dimensions differ: shapes {Layout.Format(a.Layout.Shape)} and {Layout.Format(b.Layout.Shape)} ({k} vs {kb}).");
        var batch = OpChecks.BroadcastShapes("matmul", a.Layout.Shape[..^2], b.Layout.Shape[..^2]);
        return (batch.Append(m).Append(n).ToArray(), batch, m, n, k);
    }

    /// <summary>y = a @ b for rank &gt;= 2 operands, through one batched GEMM call.</summary>
    private static Tensor Forward(Tensor a, Tensor b)
    {
        var (shape, batch, m, n, k) = Plan(a, b);
        int count = batch.Aggregate(1, (x, y) => x * y);
        var (pa, transA, strideA) = AsGemmOperand(a, batch, m, k);
        var (pb, transB, strideB) = AsGemmOperand(b, batch, k, n);
        using (pa)
        using (pb)
        {
            var y = Tensor.Empty(shape, a.DType, a.Device);
            if (y.Count > 0)
            {
                if (k == 0) y.Backend("matmul").Fill(y, 0);
                else y.Backend("matmul").MatMul(pa, transA, strideA, pb, transB, strideB, y, count, m, n, k);
            }
            return y;
        }
    }

    /// <summary>
    /// Presents an operand as GEMM wants it: each matrix row- or column-major with no gaps, and
    /// one stride between batch entries (0 when broadcast). Copies only if the view allows neither.
    /// </summary>
    private static (Tensor Operand, bool Transposed, int BatchStride) AsGemmOperand(Tensor t, int[] batch, int rows, int cols)
    {
        using var expanded = t.View(t.Layout.Expand(batch.Append(rows).Append(cols).ToArray()), "matmul");
        var strides = expanded.Layout.Strides;
        int rank = strides.Length;
        bool rowMajor = strides[rank - 1] == 1 && (strides[rank - 2] == cols || rows == 1);
        bool colMajor = !rowMajor && strides[rank - 2] == 1 && (strides[rank - 1] == rows || cols == 1);
        int? batchStride = BatchStride(expanded.Layout, batch.Length);
        if ((rowMajor || colMajor) && batchStride is { } stride)
            return (expanded.View(expanded.Layout, "matmul"), colMajor, stride);
        var copy = expanded.ContiguousCopy("matmul");
        return (copy, false, rows * cols);
    }

    /// <summary>The single stride that walks all batch dims in order, or null when there is none.</summary>
    private static int? BatchStride(Layout layout, int batchRank)
    {
        int? stride = null;
        int expected = -1;
        for (int d = batchRank - 1; d >= 0; d--)
        {
            int size = layout.Shape[d], s = layout.Strides[d];
            if (size == 1) continue;
            if (stride == null) { stride = s; expected = s * size; continue; }
            if (s != expected) return null;
            expected = s * size;
        }
        return stride ?? 0;
    }
}
