using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>RNN/LSTM/GRU layers over whole sequences. Placeholder: the family's ILGPU kernels replace this file.</summary>
internal static class GpuRecurrent
{
    public static void Forward(IlgpuBackend backend, RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh, Tensor h0, Tensor? c0, Tensor output, Tensor cache) =>
        throw new NotSupportedException("recurrent: not on ILGPU yet");

    public static void Backward(IlgpuBackend backend, RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor h0, Tensor? c0, Tensor output, Tensor cache, Tensor gradOutput, Tensor? gradInput, Tensor? gradH0, Tensor? gradC0, Tensor? gradWeightIh, Tensor? gradWeightHh, Tensor? gradBiasIh, Tensor? gradBiasHh) =>
        throw new NotSupportedException("recurrent_backward: not on ILGPU yet");
}
