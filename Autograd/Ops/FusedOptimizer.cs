using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// The fused optimizer updates (SGD, Adam, AdamW, RMSprop) as one public entry point: each call
/// updates a parameter and its state buffers in place, in one pass on the parameter's device,
/// following <see cref="OptimizerRules"/>. This is where the arguments are checked, once, for
/// every backend: the kernels below assume valid input. Not recorded on the tape (optimizers run
/// it under <see cref="Tape.NoGrad"/>).
/// </summary>
public static class FusedOptimizer
{
    /// <summary>
    /// Updates <paramref name="param"/> in place from <paramref name="grad"/> with the rule of
    /// <paramref name="kind"/> and hyper-parameters <paramref name="h"/>. The states a kind reads
    /// (see <see cref="OptimizerHyper"/>): SGD <paramref name="state1"/> = momentum buffer (only
    /// when Momentum != 0); Adam and AdamW <paramref name="state1"/> = exp_avg,
    /// <paramref name="state2"/> = exp_avg_sq; RMSprop <paramref name="state1"/> = square_avg,
    /// <paramref name="state2"/> = momentum buffer (only when Momentum != 0). States a kind does
    /// not read are ignored. The parameter, gradient and every state read must be contiguous,
    /// float32 or float64, of one dtype, element count and device. Everything is checked before
    /// anything changes (see <see cref="Check"/>); errors name the op ("sgd", "adam", "adamw", "rmsprop").
    /// </summary>
    public static void Step(OptimizerKind kind, Tensor param, Tensor grad, Tensor? state1, Tensor? state2, OptimizerHyper h)
    {
        var (op, written) = Validate(kind, param, grad, state1, state2, h);
        Tensor.WriteInPlace(op, written);   // refuses a write while recording; tells Backward the values changed
        param.Backend(op).OptimizerStep(kind, param, grad, state1, state2, h);
    }

    /// <summary>
    /// Checks the arguments of <see cref="Step"/> as it does, and changes nothing. A multi-tensor
    /// update (Optimizer.Step) checks every parameter with it before stepping any, so one bad
    /// parameter leaves all of them, and all state, as they were.
    /// </summary>
    public static void Check(OptimizerKind kind, Tensor param, Tensor grad, Tensor? state1, Tensor? state2, OptimizerHyper h)
        => Validate(kind, param, grad, state1, state2, h);

    /// <summary>The checks of <see cref="Check"/>; returns the op's name and the tensors the step writes (the parameter and the states it reads).</summary>
    private static (string Op, Tensor[] Written) Validate(OptimizerKind kind, Tensor param, Tensor grad, Tensor? state1, Tensor? state2, OptimizerHyper h)
    {
        string op = OpName(kind);
        ArgumentNullException.ThrowIfNull(param);
        ArgumentNullException.ThrowIfNull(grad);

        // Which states this step reads, by name; the messages are the ones the kernels used to raise.
        (Tensor State, string Name)[] states;
        switch (kind)
        {
            case OptimizerKind.Sgd:
                if (h.Momentum != 0 && state1 == null)
                    throw new ArgumentException($"sgd: momentum {h.Momentum} needs a momentum buffer, got none.");
                states = h.Momentum != 0 ? [(state1!, "momentum_buffer")] : [];
                break;
            case OptimizerKind.Adam:
            case OptimizerKind.AdamW:
                if (state1 == null || state2 == null)
                    throw new ArgumentException("adam: expected both state buffers (exp_avg and exp_avg_sq).");
                if (h.Step < 1) throw new ArgumentOutOfRangeException(nameof(h), $"adam: expected a step count of at least 1, got {h.Step}.");
                states = [(state1, "exp_avg"), (state2, "exp_avg_sq")];
                break;
            default:
                if (state1 == null) throw new ArgumentException("rmsprop: expected a square_avg buffer, got none.");
                if (h.Momentum != 0 && state2 == null)
                    throw new ArgumentException($"rmsprop: momentum {h.Momentum} needs a momentum buffer, got none.");
                states = h.Momentum != 0 ? [(state1, "square_avg"), (state2!, "momentum_buffer")] : [(state1, "square_avg")];
                break;
        }

        CheckHyper(op, kind, h);
        OpChecks.Floating(op, param);
        Contiguous(op, param, "parameter");
        MatchesParameter(op, param, grad, "gradient");
        foreach (var (state, name) in states) MatchesParameter(op, param, state, $"state {name}");
        return (op, [param, .. states.Select(s => s.State)]);
    }

    /// <summary>
    /// The hyper-parameters <paramref name="kind"/> reads, with torch.optim's ranges: the kernels
    /// take them as they come, so a NaN or negative learning rate, a beta of 1 or a negative eps
    /// would otherwise be written into the parameter and its state without a word.
    /// </summary>
    private static void CheckHyper(string op, OptimizerKind kind, OptimizerHyper h)
    {
        NonNegative(op, h.LearningRate, "learning rate");
        NonNegative(op, h.WeightDecay, "weight decay");
        switch (kind)
        {
            case OptimizerKind.Sgd:
                NonNegative(op, h.Momentum, "momentum");
                if (!double.IsFinite(h.Dampening))
                    throw new ArgumentOutOfRangeException(nameof(h), $"{op}: expected a finite dampening, got {h.Dampening}.");
                break;
            case OptimizerKind.Adam:
            case OptimizerKind.AdamW:
                InRange(op, h.Beta1, "beta1", "[0, 1)", h.Beta1 >= 0 && h.Beta1 < 1);
                InRange(op, h.Beta2, "beta2", "[0, 1)", h.Beta2 >= 0 && h.Beta2 < 1);
                NonNegative(op, h.Eps, "eps");
                break;
            default:
                NonNegative(op, h.Momentum, "momentum");
                InRange(op, h.Alpha, "alpha", "[0, 1]", h.Alpha >= 0 && h.Alpha <= 1);
                NonNegative(op, h.Eps, "eps");
                break;
        }
    }

    private static void NonNegative(string op, double value, string what)
    {
        if (!(value >= 0 && double.IsFinite(value)))
            throw new ArgumentOutOfRangeException(nameof(value), $"{op}: expected a finite, non-negative {what}, got {value}.");
    }

    private static void InRange(string op, double value, string what, string range, bool inside)
    {
        if (!inside) throw new ArgumentOutOfRangeException(nameof(value), $"{op}: expected {what} in {range}, got {value}.");
    }

    private static string OpName(OptimizerKind kind) => kind switch
    {
        OptimizerKind.Sgd => "sgd",
        OptimizerKind.Adam => "adam",
        OptimizerKind.AdamW => "adamw",
        OptimizerKind.RmsProp => "rmsprop",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "optimizer step: unknown optimizer kind."),
    };

    /// <summary>Same device, dtype and element count as the parameter, and contiguous.</summary>
    private static void MatchesParameter(string op, Tensor param, Tensor t, string what)
    {
        if (t.StorageFor(op).Device != param.Device)
            throw new ArgumentException($"{op}: the {what} is on {t.Device} but the parameter is on {param.Device}; expected the same device.");
        if (t.DType != param.DType)
            throw new ArgumentException($"{op}: the {what} is {t.DType.Name()} but the parameter is {param.DType.Name()}; expected the same dtype.");
        if (t.Count != param.Count)
            throw new ArgumentException($"{op}: the {what} has shape {Layout.Format(t.Layout.Shape)} ({t.Count} elements) but the parameter has {Layout.Format(param.Layout.Shape)} ({param.Count}); expected the same number of elements.");
        Contiguous(op, t, what);
    }

    private static void Contiguous(string op, Tensor t, string what)
    {
        if (!t.Layout.IsContiguous)
            throw new ArgumentException($"{op}: the {what} is a non-contiguous view ({t.Layout}); the fused update expects contiguous tensors.");
    }
}
