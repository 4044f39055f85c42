namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Sizes and row strides of one time step of a recurrent layer, passed to the kernels in
/// <see cref="Recurrent"/> by value. Every view those kernels take addresses row 0 (batch row 0)
/// of step t; a stride (in elements) steps from one batch row to the next, so the same kernel
/// reads the previous state from a contiguous [B, H] h0 or from the time-strided [B, T, H]
/// output sequence, as <c>Kernels/Cpu/RecurrentCells.cs</c> does.
/// </summary>
/// <remarks>
/// A plain struct of ints because kernel parameters must be unmanaged values; the bias flags are
/// ints rather than bools so the struct has the same layout on every ILGPU backend.
/// </remarks>
public readonly struct RecurrentStep
{
    /// <summary>Creates the step description (see the properties).</summary>
    public RecurrentStep(int hidden, int gatesStride, int prevStride, int seqStride, bool hasBiasIh, bool hasBiasHh)
    {
        Hidden = hidden;
        GatesStride = gatesStride;
        PrevStride = prevStride;
        SeqStride = seqStride;
        HasBiasIh = hasBiasIh ? 1 : 0;
        HasBiasHh = hasBiasHh ? 1 : 0;
    }

    /// <summary>Units of the hidden state (H); the kernels run one thread per (batch row, unit).</summary>
    public int Hidden { get; }

    /// <summary>Row stride of the gate block: the cache's T·CacheWidth forward, the gate gradients' T·GateWidth backward.</summary>
    public int GatesStride { get; }

    /// <summary>Row stride of the previous step's state: H when it is h0/c0, T·H when it is the output sequence.</summary>
    public int PrevStride { get; }

    /// <summary>Row stride of the output sequence and its gradient ([B, T, H]): T·H.</summary>
    public int SeqStride { get; }

    /// <summary>1 when bias_ih is present (the view passed for it is read), else 0.</summary>
    public int HasBiasIh { get; }

    /// <summary>1 when bias_hh is present (the view passed for it is read), else 0.</summary>
    public int HasBiasHh { get; }
}
