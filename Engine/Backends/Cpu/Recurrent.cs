using System.Numerics;
using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;
using static Tensorium.CpuTensor;

namespace Tensorium;

/// <summary>The CPU's recurrent layers (tanh RNN, LSTM, GRU) over whole sequences (Kernels/Cpu/RecurrentSequence.cs).</summary>
internal static unsafe class CpuRecurrent
{
    public static void Forward(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh,
        Tensor h0, Tensor? c0, Tensor output, Tensor cache) =>
        DTypeDispatch.Float(output.DType, new ForwardOp(g, input, weightIh, weightHh, biasIh, biasHh, h0, c0, output, cache));

    private readonly struct ForwardOp(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh,
        Tensor h0, Tensor? c0, Tensor output, Tensor cache) : IFloatDTypeOp
    {
        public string Name => "recurrent";
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            RecurrentSequence.Forward(g, Ptr<T>(input), Ptr<T>(weightIh), Ptr<T>(weightHh), PtrOrNull<T>(biasIh), PtrOrNull<T>(biasHh),
                Ptr<T>(h0), PtrOrNull<T>(c0), Ptr<T>(output), Ptr<T>(cache));
    }

    public static void Backward(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor h0, Tensor? c0,
        Tensor output, Tensor cache, Tensor gradOutput, Tensor? gradInput, Tensor? gradH0, Tensor? gradC0,
        Tensor? gradWeightIh, Tensor? gradWeightHh, Tensor? gradBiasIh, Tensor? gradBiasHh) =>
        DTypeDispatch.Float(output.DType, new BackwardOp(g, input, weightIh, weightHh, h0, c0, output, cache, gradOutput,
            gradInput, gradH0, gradC0, gradWeightIh, gradWeightHh, gradBiasIh, gradBiasHh));

    private readonly struct BackwardOp(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor h0, Tensor? c0,
        Tensor output, Tensor cache, Tensor gradOutput, Tensor? gradInput, Tensor? gradH0, Tensor? gradC0,
        Tensor? gradWeightIh, Tensor? gradWeightHh, Tensor? gradBiasIh, Tensor? gradBiasHh) : IFloatDTypeOp
    {
        public string Name => "recurrent";
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            RecurrentSequence.Backward(g, Ptr<T>(input), Ptr<T>(weightIh), Ptr<T>(weightHh), Ptr<T>(h0), PtrOrNull<T>(c0),
                Ptr<T>(output), Ptr<T>(cache), Ptr<T>(gradOutput), PtrOrNull<T>(gradInput), PtrOrNull<T>(gradH0), PtrOrNull<T>(gradC0),
                PtrOrNull<T>(gradWeightIh), PtrOrNull<T>(gradWeightHh), PtrOrNull<T>(gradBiasIh), PtrOrNull<T>(gradBiasHh));
    }
}
