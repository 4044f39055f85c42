using System.Numerics;
using ILGPU;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// The non-GEMM parts of 2-D convolution on ILGPU (groups = 1, NCHW, weight [OC, C, KH, KW]);
/// the products themselves run on <see cref="Gemm"/>. For a run of images:
/// <list type="bullet">
/// <item><see cref="Im2Col{T}"/>: col[img][r][p] = the input value that filter tap
/// r = (c * KH + i) * KW + j multiplies for output pixel p = oh * OW + ow, or 0 in the padding.</item>
/// <item><see cref="Col2Im{T}"/>: the reverse, as a gather: each input pixel sums, in tap order,
/// the column entries copied from it (it overwrites; no atomics, so the result is deterministic).</item>
/// <item><see cref="BiasAdd{T}"/>, <see cref="BiasGrad{T}"/> and <see cref="SumParts{T}"/>: the
/// bias and the fixed-order sum of per-image weight gradients.</item>
/// </list>
/// The geometry is the shared <see cref="Conv2dGeometry"/> (only its sizes are read; the image
/// count of a run is the launch's extent).
/// </summary>
public static class Conv
{
    /// <summary>Threads of a <see cref="BiasGrad{T}"/> group (a power of two, for its tree reduction).</summary>
    public const int BiasGradGroup = 256;

    /// <summary>
    /// One thread per column entry of a run of images: index = (img * C*KH*KW + r) * OH*OW + p.
    /// <paramref name="x"/> starts at the run's first image, <paramref name="col"/> at its first column matrix.
    /// </summary>
    public static void Im2Col<T>(Index1D index, ArrayView<T> x, ArrayView<T> col, Conv2dGeometry g)
        where T : unmanaged, INumber<T>
    {
        int plane = g.OutPlane, rows = g.ColumnRows, outW = g.OutWidth;
        int p = index % plane, t = index / plane;
        int r = t % rows, img = t / rows;
        int ow = p % outW, oh = p / outW;
        int j = r % g.KernelWidth, i = r / g.KernelWidth % g.KernelHeight, ch = r / (g.KernelWidth * g.KernelHeight);
        int ih = oh * g.StrideH - g.PadH + i * g.DilationH, iw = ow * g.StrideW - g.PadW + j * g.DilationW;
        bool inside = ih >= 0 && ih < g.InHeight && iw >= 0 && iw < g.InWidth;
        col[index] = inside ? x[((long)img * g.InChannels + ch) * g.InHeight * g.InWidth + (long)ih * g.InWidth + iw] : T.Zero;
    }

    /// <summary>
    /// One thread per input pixel of a run of images: index = ((img * C + c) * H + ih) * W + iw.
    /// x[index] = the sum, taps in order, of the column entries <see cref="Im2Col{T}"/> copied
    /// from that pixel. <paramref name="col"/> starts at the run's first column matrix, <paramref name="x"/> at its first image.
    /// </summary>
    public static void Col2Im<T>(Index1D index, ArrayView<T> col, ArrayView<T> x, Conv2dGeometry g)
        where T : unmanaged, INumber<T>
    {
        int plane = g.OutPlane, rows = g.ColumnRows;
        int iw = index % g.InWidth, t = index / g.InWidth;
        int ih = t % g.InHeight;
        t /= g.InHeight;
        int ch = t % g.InChannels, img = t / g.InChannels;
        long image = (long)img * rows * plane;
        T sum = T.Zero;
        for (int i = 0; i < g.KernelHeight; i++)
        {
            int th = ih + g.PadH - i * g.DilationH;   // = oh * strideH for the output row that reads this pixel
            if (th < 0 || th % g.StrideH != 0) continue;
            int oh = th / g.StrideH;
            if (oh >= g.OutHeight) continue;
            for (int j = 0; j < g.KernelWidth; j++)
            {
                int tw = iw + g.PadW - j * g.DilationW;
                if (tw < 0 || tw % g.StrideW != 0) continue;
                int ow = tw / g.StrideW;
                if (ow >= g.OutWidth) continue;
                sum += col[image + (long)((ch * g.KernelHeight + i) * g.KernelWidth + j) * plane + oh * g.OutWidth + ow];
            }
        }
        x[index] = sum;
    }

    /// <summary>y[img][oc][p] += bias[oc], one thread per element of <paramref name="y"/>.</summary>
    public static void BiasAdd<T>(Index1D index, ArrayView<T> y, ArrayView<T> bias, int channels, int plane)
        where T : unmanaged, INumber<T> =>
        y[index] += bias[index / plane % channels];

    /// <summary>
    /// db[oc] = the sum of dy[img][oc][p] over <paramref name="batch"/> images and
    /// <paramref name="plane"/> pixels; one group of <see cref="BiasGradGroup"/> threads per
    /// channel (grid x = channels): strided partial sums, then a fixed-order tree in shared
    /// memory, so the result is the same at every run.
    /// </summary>
    public static void BiasGrad<T>(ArrayView<T> dy, ArrayView<T> db, int batch, int channels, int plane)
        where T : unmanaged, INumber<T>
    {
        var partial = SharedMemory.Allocate<T>(BiasGradGroup);
        int oc = Grid.IdxX, t = Group.IdxX;
        long total = (long)batch * plane;
        T sum = T.Zero;
        for (long q = t; q < total; q += BiasGradGroup)
        {
            long img = q / plane, p = q - img * plane;
            sum += dy[(img * channels + oc) * plane + p];
        }
        partial[t] = sum;
        Group.Barrier();
        for (int width = BiasGradGroup / 2; width > 0; width /= 2)
        {
            if (t < width) partial[t] += partial[t + width];
            Group.Barrier();
        }
        if (t == 0) db[oc] = partial[0];
    }

    /// <summary>
    /// dst[i] = (accumulate != 0 ? dst[i] : 0) + src[0][i] + src[1][i] + ... + src[parts - 1][i],
    /// summed in that order (deterministic), one thread per i &lt; count; src holds
    /// <paramref name="parts"/> arrays of <paramref name="count"/> elements back to back.
    /// </summary>
    public static void SumParts<T>(Index1D index, ArrayView<T> src, int count, int parts, ArrayView<T> dst, int accumulate)
        where T : unmanaged, INumber<T>
    {
        T sum = accumulate != 0 ? dst[index] : T.Zero;
        for (int j = 0; j < parts; j++) sum += src[(long)j * count + index];
        dst[index] = sum;
    }
}
