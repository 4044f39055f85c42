using System.Numerics;
using ILGPU;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// 2-D max pooling over contiguous NCHW data, each (n, c) plane pooled on its own, with the CPU
/// kernel's rules (Kernels/Cpu/MaxPool2d.cs, PyTorch's): argmax is the flat index ih*W + iw inside
/// the plane; padding never wins; a window scans row-major from -inf and a later element wins when
/// strictly greater or NaN, so the first of equal maxima wins and the last NaN wins (NaN
/// propagates); an all -inf window reports its first real element.
/// </summary>
public static class Pool
{
    /// <summary>
    /// Forward: thread o computes output element o = (plane, oh, ow) and its argmax. Neighbouring
    /// threads take neighbouring outputs of a row, so their window reads overlap.
    /// </summary>
    public static void MaxPool2dForward<T>(Index1D o, ArrayView<T> x, ArrayView<T> y, ArrayView<int> argmax, Pool2dGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int outW = g.OutWidth, outH = g.OutHeight;
        int ow = o % outW, oh = o / outW % outH, plane = o / outW / outH;
        long planeStart = (long)plane * g.InHeight * g.InWidth;

        int ihStart = oh * g.StrideH - g.PadH, iwStart = ow * g.StrideW - g.PadW;
        // The window's rows and columns that fall inside the input (padding is skipped, never compared).
        int khLo = Math.Max(0, -ihStart), khHi = Math.Min(g.KernelHeight, g.InHeight - ihStart);
        int kwLo = Math.Max(0, -iwStart), kwHi = Math.Min(g.KernelWidth, g.InWidth - iwStart);
        T best = T.NegativeInfinity;
        int bestIndex = (ihStart + khLo) * g.InWidth + iwStart + kwLo;
        for (int kh = khLo; kh < khHi; kh++)
        {
            int rowIndex = (ihStart + kh) * g.InWidth + iwStart;
            for (int kw = kwLo; kw < kwHi; kw++)
            {
                T v = x[planeStart + rowIndex + kw];
                if (v > best || T.IsNaN(v))
                {
                    best = v;
                    bestIndex = rowIndex + kw;
                }
            }
        }
        y[o] = best;
        argmax[o] = bestIndex;
    }

    /// <summary>
    /// Backward as a gather: thread i takes input element i = (plane, ih, iw), visits the windows
    /// that cover it in output order and sums gradOutput where that window's argmax is this
    /// element. Every input gradient is written exactly once (0 when no window picked it): no
    /// atomics, and the sum's order is fixed, so the result is deterministic.
    /// </summary>
    public static void MaxPool2dBackward<T>(Index1D i, ArrayView<T> gradOutput, ArrayView<int> argmax, ArrayView<T> gradInput, Pool2dGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int inW = g.InWidth, inH = g.InHeight, outW = g.OutWidth, outH = g.OutHeight;
        int iw = i % inW, ih = i / inW % inH, plane = i / inW / inH;
        int self = ih * inW + iw;
        long outStart = (long)plane * outH * outW;

        // Windows oh with oh*stride <= ih + pad <= oh*stride + kernel - 1, clipped to the output.
        int uh = ih + g.PadH, uw = iw + g.PadW;
        int ohLo = FirstWindow(uh, g.KernelHeight, g.StrideH), ohHi = Math.Min(uh / g.StrideH, outH - 1);
        int owLo = FirstWindow(uw, g.KernelWidth, g.StrideW), owHi = Math.Min(uw / g.StrideW, outW - 1);
        T sum = T.Zero;
        for (int oh = ohLo; oh <= ohHi; oh++)
            for (int ow = owLo; ow <= owHi; ow++)
            {
                long at = outStart + oh * outW + ow;
                if (argmax[at] == self) sum += gradOutput[at];
            }
        gradInput[i] = sum;
    }

    /// <summary>The first window (of this size and step) that covers padded position u &gt;= 0.</summary>
    private static int FirstWindow(int u, int size, int step)
    {
        int t = u - size + 1;
        return t <= 0 ? 0 : (t + step - 1) / step;
    }
}
