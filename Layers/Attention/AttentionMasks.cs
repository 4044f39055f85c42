namespace Tensorium.Layers;

/// <summary>
/// Helpers that turn the masks people pass to attention layers into the additive form the
/// attention op takes: 0 where a query may look at a key, -inf where it may not.
/// </summary>
public static class AttentionMasks
{
    /// <summary>
    /// The [Lq, Lk] additive causal mask: query i sees keys j &lt;= i (-inf above the diagonal),
    /// like torch.nn.Transformer.generate_square_subsequent_mask for Lq = Lk.
    /// </summary>
    public static Tensor Causal(int queryLength, int keyLength, DType dtype = DType.Float32, Device? device = null)
    {
        if (queryLength <= 0 || keyLength <= 0)
            throw new ArgumentException($"AttentionMasks.Causal: lengths must be positive, got {queryLength} x {keyLength}.");
        using var rows = Tensor.Arange(queryLength, dtype, device);
        using var column = rows.Unsqueeze(1);
        using var cols = Tensor.Arange(keyLength, dtype, device);
        using var future = cols.Gt(column);                       // [Lq, Lk]: 1 where j > i
        using var zeros = Tensor.Zeros([queryLength, keyLength], dtype, device ?? Device.Cpu);
        return zeros.MaskedFill(future, double.NegativeInfinity);
    }

    /// <summary>
    /// An additive mask of <paramref name="dtype"/> from <paramref name="mask"/>: a floating
    /// mask is already additive (converted to <paramref name="dtype"/>); an integer mask is
    /// boolean, non-zero meaning "hide" (-inf) as with PyTorch's bool masks.
    /// </summary>
    public static Tensor ToAdditive(Tensor mask, DType dtype)
    {
        if (mask.DType.IsFloating()) return mask.DType == dtype ? mask.Detach() : mask.To(dtype);
        return BooleanToAdditive(mask, dtype);
    }

    /// <summary>-inf where <paramref name="mask"/> is non-zero, 0 elsewhere, whatever the mask's dtype.</summary>
    public static Tensor BooleanToAdditive(Tensor mask, DType dtype)
    {
        using var zeros = Tensor.Zeros(mask.Shape, dtype, mask.Device);
        return zeros.MaskedFill(mask, double.NegativeInfinity);
    }
}
