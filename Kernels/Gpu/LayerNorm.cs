using System.Numerics;
using ILGPU;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Layer normalisation over the rows of a contiguous [rows, cols] matrix, with the CPU kernels'
/// formulas (Kernels/Cpu/LayerNorm.cs): a two-pass mean and biased variance per row, and
/// backward dx = rstd (g - mean(g) - x̂ mean(g x̂)) with g = dy · weight, x̂ = (x - mean) rstd.
/// Row kernels give each row one segment of threads (see <see cref="SegmentReduce"/>); the
/// weight and bias gradients, column sums over the rows, take one thread per column that walks
/// the rows in order, so they are deterministic without atomics.
/// </summary>
public static class LayerNorm
{
    /// <summary>
    /// y = (x - mean) rstd · weight + bias per row, writing each row's mean and rstd. weight and
    /// bias are read only when the shape says they are real (otherwise any buffer may stand in).
    /// </summary>
    public static void Forward<T>(LayerNormShape<T> s, ArrayView<T> x, ArrayView<T> weight, ArrayView<T> bias, ArrayView<T> y,
        ArrayView<T> mean, ArrayView<T> rstd)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var scratch = SharedMemory.Allocate<T>(SegmentReduce.MaxGroup);
        int row = SegmentReduce.Row(s.Width), lane = SegmentReduce.Lane(s.Width);
        int cols = row < s.Rows ? s.Cols : 0;   // threads past the last row still join the barriers
        long start = (long)row * s.Cols;
        T sum = T.Zero;
        for (int c = lane; c < cols; c += s.Width) sum += x[start + c];
        T mu = SegmentReduce.All<T, AddCombine<T>>(scratch, sum, s.Width) / s.Count;
        T squares = T.Zero;
        for (int c = lane; c < cols; c += s.Width)
        {
            T d = x[start + c] - mu;
            squares += d * d;
        }
        squares = SegmentReduce.All<T, AddCombine<T>>(scratch, squares, s.Width);
        if (row >= s.Rows) return;
        T rs = T.One / T.Sqrt(squares / s.Count + s.Eps);
        if (lane == 0)
        {
            mean[row] = mu;
            rstd[row] = rs;
        }
        for (int c = lane; c < cols; c += s.Width)
        {
            T v = (x[start + c] - mu) * rs;
            if (s.HasWeight != 0) v *= weight[c];
            if (s.HasBias != 0) v += bias[c];
            y[start + c] = v;
        }
    }

    /// <summary>dx per row from the saved mean and rstd (weight read only when the shape says it is real).</summary>
    public static void BackwardInput<T>(LayerNormShape<T> s, ArrayView<T> x, ArrayView<T> weight, ArrayView<T> mean, ArrayView<T> rstd,
        ArrayView<T> gradY, ArrayView<T> gradX)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var scratch = SharedMemory.Allocate<T>(SegmentReduce.MaxGroup);
        int row = SegmentReduce.Row(s.Width), lane = SegmentReduce.Lane(s.Width);
        int cols = row < s.Rows ? s.Cols : 0;
        long start = (long)row * s.Cols;
        T mu = cols > 0 ? mean[row] : T.Zero, rs = cols > 0 ? rstd[row] : T.Zero;
        T sumG = T.Zero, sumGX = T.Zero;
        for (int c = lane; c < cols; c += s.Width)
        {
            T g = s.HasWeight != 0 ? gradY[start + c] * weight[c] : gradY[start + c];
            sumG += g;
            sumGX += g * ((x[start + c] - mu) * rs);
        }
        sumG = SegmentReduce.All<T, AddCombine<T>>(scratch, sumG, s.Width);
        sumGX = SegmentReduce.All<T, AddCombine<T>>(scratch, sumGX, s.Width);
        if (row >= s.Rows) return;
        T shift = rs * sumG / s.Count, slope = rs * sumGX / s.Count;
        for (int c = lane; c < cols; c += s.Width)
        {
            T g = s.HasWeight != 0 ? gradY[start + c] * weight[c] : gradY[start + c];
            gradX[start + c] = rs * g - shift - (x[start + c] - mu) * rs * slope;
        }
    }

    /// <summary>
    /// dweight[c] = Σ_r dy x̂ and dbias[c] = Σ_r dy, one thread per column c, rows in order; each
    /// written only when the shape says it is wanted.
    /// </summary>
    public static void BackwardColumns<T>(Index1D c, LayerNormShape<T> s, ArrayView<T> x, ArrayView<T> mean, ArrayView<T> rstd,
        ArrayView<T> gradY, ArrayView<T> gradWeight, ArrayView<T> gradBias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T dw = T.Zero, db = T.Zero;
        for (int r = 0; r < s.Rows; r++)
        {
            long i = (long)r * s.Cols + c;
            T d = gradY[i];
            dw += d * ((x[i] - mean[r]) * rstd[r]);
            db += d;
        }
        if (s.HasWeight != 0) gradWeight[c] = dw;
        if (s.HasBias != 0) gradBias[c] = db;
    }
}
