using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>The fused optimizer updates of the GPU backend (optim.gpu): one work-item per element.</summary>
internal sealed partial class GpuBackend
{
    public void OptimizerStep(OptimizerKind kind, Tensor param, Tensor grad, Tensor? state1, Tensor? state2, OptimizerHyper h)
    {
        // Arguments arrive validated (FusedOptimizer.Step checks states, step count and sizes).
        string op = kind.ToString().ToLowerInvariant();
        bool isDouble = param.DType == DType.Float64;
        int n = param.Count;
        var args = new KernelArgs();
        Arg(args, param, op);
        Arg(args, grad, op);
        switch (kind)
        {
            case OptimizerKind.Sgd:
            {
                // The same host-side constants as OptimizerSteps.Sgd.
                bool useMomentum = h.Momentum != 0;
                Arg(args, useMomentum ? state1! : param, op).Int(n)
                    .Real(h.LearningRate, isDouble).Real(h.WeightDecay, isDouble).Real(h.Momentum, isDouble).Real(1 - h.Dampening, isDouble)
                    .Int(h.WeightDecay != 0 ? 1 : 0).Int(useMomentum ? 1 : 0).Int(h.Nesterov ? 1 : 0);
                Launch1D(Kernel("optim", "sgd_step", param.DType), n, args);
                break;
            }
            case OptimizerKind.Adam:
            case OptimizerKind.AdamW:
            {
                bool decoupled = kind == OptimizerKind.AdamW;
                // Bias corrections in double on the host, then rounded once to the element type (as the CPU does).
                Arg(Arg(args, state1!, op), state2!, op).Int(n)
                    .Real(1 - h.Beta1, isDouble).Real(h.Beta2, isDouble).Real(1 - h.Beta2, isDouble)
                    .Real(h.LearningRate / (1 - Math.Pow(h.Beta1, h.Step)), isDouble)
                    .Real(Math.Sqrt(1 - Math.Pow(h.Beta2, h.Step)), isDouble)
                    .Real(h.Eps, isDouble).Real(h.WeightDecay, isDouble).Real(1 - h.LearningRate * h.WeightDecay, isDouble)
                    .Int(!decoupled && h.WeightDecay != 0 ? 1 : 0).Int(decoupled && h.WeightDecay != 0 ? 1 : 0);
                Launch1D(Kernel("optim", "adam_step", param.DType), n, args);
                break;
            }
            case OptimizerKind.RmsProp:
            {
                bool useMomentum = h.Momentum != 0;
                Arg(Arg(args, state1!, op), useMomentum ? state2! : param, op).Int(n)
                    .Real(h.LearningRate, isDouble).Real(h.WeightDecay, isDouble).Real(h.Alpha, isDouble).Real(1 - h.Alpha, isDouble)
                    .Real(h.Eps, isDouble).Real(h.Momentum, isDouble)
                    .Int(h.WeightDecay != 0 ? 1 : 0).Int(useMomentum ? 1 : 0);
                Launch1D(Kernel("optim", "rmsprop_step", param.DType), n, args);
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "optimizer step: unknown optimizer kind.");
        }
    }
}
