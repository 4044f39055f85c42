namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Sizes and row strides of one time step of a recurrent layer, passed to the kernels in
/// <see cref="Recurrent"/> by value. Every view those kernels take addresses row 0 (batch row 0)
/// of step t; a stride (in elements) steps from one batch row to the next, so the same kernel
/// reads the previous state from a contiguous [B, H] h0 or from the time-strided [B, T, H]
/// output sequence, as <c>Kernels/Cpu/RecurrentCells.cs</c> does.
/// </summary>
/// <remarks>
/// A plain struct of numbers because kernel parameters must be unmanaged values (and ILGPU's
/// loaders take at most 8 of them, so the sizes travel together); the bias flags are ints rather
/// than bools so the struct has the same layout on every ILGPU backend.
/// </remarks>
public readonly struct RecurrentStep
{
    /// <summary>Units of the hidden state (H); the kernels run one thread per (batch row, unit).</summary>
    public int Hidden { get; init; }

    /// <summary>Row stride of the cache block of gates: T·CacheWidth.</summary>
    public int GatesStride { get; init; }

    /// <summary>Row stride of the gate gradients backward writes: T·GateWidth.</summary>
    public int GradStride { get; init; }

    /// <summary>Row stride of the previous step's state: H when it is h0/c0, T·H when it is the output sequence.</summary>
    public int PrevStride { get; init; }

    /// <summary>Row stride of the output sequence and its gradient ([B, T, H]): T·H.</summary>
    public int SeqStride { get; init; }

    /// <summary>
    /// Elements from the h sequence to the c sequence in the LSTM's stacked output and its
    /// gradient ([2, B, T, H]): B·T·H.
    /// </summary>
    public long StateOffset { get; init; }

    /// <summary>1 when bias_ih is present (the view passed for it is read), else 0.</summary>
    public int HasBiasIh { get; init; }

    /// <summary>1 when bias_hh is present (the view passed for it is read), else 0.</summary>
    public int HasBiasHh { get; init; }
}
