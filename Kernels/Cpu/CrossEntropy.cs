using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// Softmax cross-entropy of a contiguous rows x classes matrix of logits against one int64 class
/// label per row, forward and backward, fused: the probabilities are never stored. Forward keeps
/// each row's log-sum-exp, from which backward recomputes softmax = exp(x - lse) on the fly.
/// </summary>
/// <remarks>
/// <para>With label smoothing ε the target is t = (1 - ε) one-hot(label) + ε / C, so a row's loss is
/// -Σ_c t_c logp_c = -(1 - ε) logp[label] - (ε / C) Σ_c logp_c, with logp = (x - max) - log Σ exp(x - max),
/// and its gradient is softmax - t. A row whose label is the ignore index has loss 0 and gradient 0
/// exactly, whatever its logits hold (as in PyTorch).</para>
/// <para>The smoothing term is skipped when ε = 0, so a -inf logit (a masked class) does not turn
/// the loss into 0 × -inf = NaN.</para>
/// <para>Labels arrive checked (the cross_entropy op rejects a label outside [0, C) that is not the
/// ignore index before any kernel runs).</para>
/// </remarks>
public static unsafe class CrossEntropy
{
    /// <summary>
    /// loss[r] = the smoothed cross-entropy of row r (0 when labels[r] == ignoreIndex) and
    /// logSumExp[r] = max + log Σ exp(x - max) of row r, for the backward pass.
    /// </summary>
    public static void Forward<T>(T* logits, long* labels, T* loss, T* logSumExp, int rows, int classes, int ignoreIndex, double smoothing)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T eps = T.CreateTruncating(smoothing), keep = T.One - eps, count = T.CreateTruncating(classes);
        CpuParallel.ForRows(rows, (long)Math.Max(classes, 1) * 3, (start, end) =>
        {
            for (int r = start; r < end; r++)
            {
                T* xr = logits + (long)r * classes;
                T max = Softmax.RowMax(xr, classes);
                T logSum = T.Log(Softmax.ExpShiftSum(xr, (T*)null, classes, max));
                logSumExp[r] = max + logSum;
                long label = labels[r];
                if (label == ignoreIndex)
                {
                    loss[r] = T.Zero;
                    continue;
                }
                // -logp[label], as (x - max) - logSum like log-softmax, exact near the maximum.
                T value = keep * (logSum - (xr[label] - max));
                if (smoothing > 0)   // -(1/C) Σ logp = logSum - (1/C) Σ (x - max)
                    value += eps * (logSum - ShiftedSum(xr, classes, max) / count);
                loss[r] = value;
            }
        });
    }

    /// <summary>
    /// gradLogits[r, c] = scale[r * scaleStride] (softmax[r, c] - target[r, c]), and 0 for rows whose
    /// label is ignoreIndex. scaleStride may be 0: one scale for all rows.
    /// gradLogits may not alias logits.
    /// </summary>
    public static void Backward<T>(T* logits, T* logSumExp, long* labels, T* scale, int scaleStride, T* gradLogits,
        int rows, int classes, int ignoreIndex, double smoothing)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T keep = T.One - T.CreateTruncating(smoothing), spread = T.CreateTruncating(smoothing / classes);
        CpuParallel.ForRows(rows, (long)Math.Max(classes, 1) * 4, (start, end) =>
        {
            for (int r = start; r < end; r++)
            {
                long o = (long)r * classes;
                var g = new Span<T>(gradLogits + o, classes);
                long label = labels[r];
                if (label == ignoreIndex)
                {
                    g.Clear();
                    continue;
                }
                // softmax = exp(x - lse), written straight into the gradient row, then the target
                // subtracted and the row scaled, all while the row is in L1.
                Softmax.ExpShiftSum(logits + o, gradLogits + o, classes, logSumExp[r]);
                g[(int)label] -= keep;
                if (smoothing > 0) TensorPrimitives.Subtract(g, spread, g);
                TensorPrimitives.Multiply(g, scale[(long)r * scaleStride], g);
            }
        });
    }

    /// <summary>Σ (x[j] - shift): the smoothing term's sum of shifted logits, free of the cancellation Σx - n·shift suffers.</summary>
    private static T ShiftedSum<T>(T* x, int n, T shift) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        T sum = T.Zero;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            int w = Vector256<T>.Count;
            var s = Vector256.Create(shift);
            var acc = Vector256<T>.Zero;
            for (; j + w <= n; j += w) acc += Vector256.Load(x + j) - s;
            sum = Vector256.Sum(acc);
        }
        for (; j < n; j++) sum += x[j] - shift;
        return sum;
    }
}
