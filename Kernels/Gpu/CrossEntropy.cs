using System.Numerics;
using ILGPU;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Softmax cross-entropy of contiguous [rows, classes] logits against one int64 label per row,
/// forward and backward, with the CPU kernel's semantics (Kernels/Cpu/CrossEntropy.cs):
/// loss[r] = -(1 - eps) logp[label] - (eps / C) sum_c logp[c] with logp = (x - max) - log sum exp(x - max),
/// and grad[r, c] = scale[r] (exp(x - lse[r]) - target[c]) with target = (1 - eps) one-hot + eps / C;
/// both exactly 0 on rows whose label is the ignore index. Labels arrive checked.
/// </summary>
public static class CrossEntropy
{
    /// <summary>
    /// loss[row] and lse[row] = max + log sum exp(x - max) of each row (kept for the backward
    /// pass). Each row is reduced by one segment of threads (see <see cref="SegmentReduce"/>), in
    /// two reads of the row: its max, then the sums of exp(x - max) and of x - max (the latter
    /// only for the smoothing term).
    /// </summary>
    public static void Forward<T>(ArrayView<T> x, ArrayView<long> labels, ArrayView<T> loss, ArrayView<T> lse, int rows, int width,
        CrossEntropyTerms<T> terms) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var scratch = SharedMemory.Allocate<T>(SegmentReduce.MaxGroup);
        int row = SegmentReduce.Row(width), lane = SegmentReduce.Lane(width);
        int classes = row < rows ? terms.Classes : 0;
        long start = (long)row * terms.Classes;

        // The max skips NaN, like the CPU's row max (a NaN still reaches the sum of exps).
        T max = T.NegativeInfinity;
        for (int c = lane; c < classes; c += width)
        {
            T v = x[start + c];
            if (v > max) max = v;
        }
        max = SegmentReduce.All<T, MaxSkippingNaN<T>>(scratch, max, width);

        T expSum = T.Zero, shiftedSum = T.Zero;
        for (int c = lane; c < classes; c += width)
        {
            T shifted = x[start + c] - max;
            expSum += T.Exp(shifted);
            shiftedSum += shifted;
        }
        expSum = SegmentReduce.All<T, AddCombine<T>>(scratch, expSum, width);
        shiftedSum = SegmentReduce.All<T, AddCombine<T>>(scratch, shiftedSum, width);

        if (row >= rows || lane != 0) return;
        T logSum = T.Log(expSum);
        lse[row] = max + logSum;
        long label = labels[row];
        T value = T.Zero;
        if (label != terms.IgnoreIndex)
        {
            // -logp[label], as (x - max) - logSum like log-softmax: exact near the maximum.
            value = terms.Keep * (logSum - (x[start + label] - max));
            // Skipped at eps = 0, so a -inf logit does not make 0 * -inf = NaN.
            if (terms.Smoothing > T.Zero) value += terms.Smoothing * (logSum - shiftedSum / terms.ClassCount);
        }
        loss[row] = value;
    }

    /// <summary>
    /// grad[i] for element i of the [rows, classes] gradient, one thread each (every element is one
    /// read of x and one write, coalesced whatever the class count): exp(x - lse) minus the
    /// target, times the row's scale, read at scale[row * scaleStride] (stride 0: one scale for all
    /// rows). In the CPU's order of operations, so both round alike.
    /// </summary>
    public static void Backward<T>(Index1D i, ArrayView<T> x, ArrayView<T> lse, ArrayView<long> labels, ArrayView<T> scale, int scaleStride,
        ArrayView<T> grad, CrossEntropyTerms<T> terms) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int row = i / terms.Classes, c = i - row * terms.Classes;
        long label = labels[row];
        T g = T.Zero;
        if (label != terms.IgnoreIndex)
        {
            g = T.Exp(x[i] - lse[row]);
            if (c == label) g -= terms.Keep;
            g -= terms.Spread;   // 0 without smoothing: subtracting it changes nothing
            g *= scale[(long)row * scaleStride];
        }
        grad[i] = g;
    }

    /// <summary>The larger of two values, where a NaN never wins (so the segment's max skips NaN like each thread's).</summary>
    public readonly struct MaxSkippingNaN<T> : ICombine<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <inheritdoc />
        public T Combine(T a, T b) => b > a ? b : a;
    }
}
