namespace Tensorium.Layers;

/// <summary>
/// PyTorch's pooling output size along one axis (pooling_output_shape): windows of
/// <c>dilation·(kernel - 1) + 1</c> positions every <c>stride</c>, over the input padded by
/// <c>padding</c> on both sides; in ceil mode a last partial window counts if it starts inside
/// the input or the leading padding.
/// </summary>
internal static class PoolingGeometry
{
    /// <summary>The number of windows along an axis of <paramref name="size"/> positions.</summary>
    public static int OutputSize(int size, int kernel, int stride, int padding, int dilation, bool ceilMode)
    {
        long span = (long)size + 2L * padding - (long)dilation * (kernel - 1) - 1;
        if (span < 0) return 0;
        long output = (span + (ceilMode ? stride - 1 : 0)) / stride + 1;
        if (ceilMode && (output - 1) * stride >= size + padding) output--;
        return (int)output;
    }

    /// <summary>
    /// Positions the last window reaches past the input and its symmetric padding (ceil mode), or
    /// 0 when every window fits.
    /// </summary>
    public static int ExtraEnd(int size, int output, int kernel, int stride, int padding, int dilation) =>
        Math.Max(0, (output - 1) * stride + dilation * (kernel - 1) + 1 - (size + 2 * padding));
}
