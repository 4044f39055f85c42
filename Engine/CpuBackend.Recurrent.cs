using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>The recurrent-layer kernels of the CPU backend (tanh RNN, LSTM, GRU over whole sequences).</summary>
internal sealed unsafe partial class CpuBackend
{
    /// <summary>Pointer to an optional tensor's first element, or null.</summary>
    private static T* PtrOrNull<T>(Tensor? t) where T : unmanaged => t == null ? null : Ptr<T>(t);

    public void RecurrentForward(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh,
        Tensor h0, Tensor? c0, Tensor output, Tensor cache)
    {
        if (output.DType == DType.Float32)
            RecurrentSequence.Forward(g, Ptr<float>(input), Ptr<float>(weightIh), Ptr<float>(weightHh), PtrOrNull<float>(biasIh), PtrOrNull<float>(biasHh),
                Ptr<float>(h0), PtrOrNull<float>(c0), Ptr<float>(output), Ptr<float>(cache));
        else
            RecurrentSequence.Forward(g, Ptr<double>(input), Ptr<double>(weightIh), Ptr<double>(weightHh), PtrOrNull<double>(biasIh), PtrOrNull<double>(biasHh),
                Ptr<double>(h0), PtrOrNull<double>(c0), Ptr<double>(output), Ptr<double>(cache));
    }

    public void RecurrentBackward(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor h0, Tensor? c0,
        Tensor output, Tensor cache, Tensor gradOutput, Tensor? gradInput, Tensor? gradH0, Tensor? gradC0,
        Tensor? gradWeightIh, Tensor? gradWeightHh, Tensor? gradBiasIh, Tensor? gradBiasHh)
    {
        if (output.DType == DType.Float32)
            RecurrentSequence.Backward(g, Ptr<float>(input), Ptr<float>(weightIh), Ptr<float>(weightHh), Ptr<float>(h0), PtrOrNull<float>(c0),
                Ptr<float>(output), Ptr<float>(cache), Ptr<float>(gradOutput), PtrOrNull<float>(gradInput), PtrOrNull<float>(gradH0), PtrOrNull<float>(gradC0),
                PtrOrNull<float>(gradWeightIh), PtrOrNull<float>(gradWeightHh), PtrOrNull<float>(gradBiasIh), PtrOrNull<float>(gradBiasHh));
        else
            RecurrentSequence.Backward(g, Ptr<double>(input), Ptr<double>(weightIh), Ptr<double>(weightHh), Ptr<double>(h0), PtrOrNull<double>(c0),
                Ptr<double>(output), Ptr<double>(cache), Ptr<double>(gradOutput), PtrOrNull<double>(gradInput), PtrOrNull<double>(gradH0), PtrOrNull<double>(gradC0),
                PtrOrNull<double>(gradWeightIh), PtrOrNull<double>(gradWeightHh), PtrOrNull<double>(gradBiasIh), PtrOrNull<double>(gradBiasHh));
    }
}
