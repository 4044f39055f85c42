using System.Numerics;

namespace Tensorium.Kernels.Ops;

/// <summary>
/// The per-element update rules of the fused optimizer steps (torch.optim, single-tensor path),
/// written once as scalar formulas: the contract every backend's optimizer kernel implements and
/// the tests check against. Host-side constants are combined in double first (as PyTorch does in
/// Python floats) and rounded once to the element type, through <see cref="OptimizerCoefficients{T}"/>.
/// </summary>
public static class OptimizerRules
{
    /// <summary>
    /// SGD: g += wd p; with momentum, buf = momentum buf + (1 - dampening) g and
    /// g = nesterov ? g + momentum buf : buf; then p -= lr g.
    /// </summary>
    public static void Sgd<T>(ref T p, T g, ref T buf, in OptimizerCoefficients<T> c) where T : IFloatingPointIeee754<T>
    {
        if (c.Decay) g += c.WeightDecay * p;
        if (c.UseMomentum)
        {
            buf = c.Momentum * buf + c.Keep * g;
            g = c.Nesterov ? g + c.Momentum * buf : buf;
        }
        p -= c.LearningRate * g;
    }

    /// <summary>
    /// Adam (L2 decay: g += wd p) or AdamW (decoupled: p *= 1 - lr wd): m = lerp(m, g, 1 - b1),
    /// v = b2 v + (1 - b2) g², p -= lr / (1 - b1^t) · m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    /// </summary>
    public static void Adam<T>(ref T p, T g, ref T m, ref T v, in OptimizerCoefficients<T> c, bool decoupled) where T : IFloatingPointIeee754<T>
    {
        bool decay = c.Decay;
        if (decay && !decoupled) g += c.WeightDecay * p;
        if (decay && decoupled) p *= c.Shrink;
        m += c.OneMinusBeta1 * (g - m);                       // torch: exp_avg.lerp_(grad, 1 - beta1)
        v = c.Beta2 * v + c.OneMinusBeta2 * (g * g);
        p -= c.AdamStepSize * (m / (T.Sqrt(v) / c.AdamCorrection2Sqrt + c.Eps));
    }

    /// <summary>
    /// RMSprop (not centered): g += wd p; s = alpha s + (1 - alpha) g²; d = g / (sqrt(s) + eps);
    /// with momentum, buf = momentum buf + d and p -= lr buf, else p -= lr d.
    /// </summary>
    public static void RmsProp<T>(ref T p, T g, ref T squareAvg, ref T buf, in OptimizerCoefficients<T> c) where T : IFloatingPointIeee754<T>
    {
        if (c.Decay) g += c.WeightDecay * p;
        squareAvg = c.Alpha * squareAvg + c.OneMinusAlpha * (g * g);
        var step = g / (T.Sqrt(squareAvg) + c.Eps);
        if (c.UseMomentum)
        {
            buf = c.Momentum * buf + step;
            step = buf;
        }
        p -= c.LearningRate * step;
    }
}

/// <summary>
/// The constants of one optimizer step, combined in double on the host and then rounded once to
/// the element type <typeparamref name="T"/>: every backend feeds its kernel these same values.
/// The GPU kernels take this struct as a parameter, and ILGPU passes only blittable structs to a
/// kernel: so the switches are stored as bytes, not as bools or as the <see cref="OptimizerHyper"/>
/// they come from (its Nesterov is a bool).
/// </summary>
/// <typeparam name="T">The parameters' element type.</typeparam>
public readonly struct OptimizerCoefficients<T> where T : IFloatingPointIeee754<T>
{
    /// <summary>Rounds the step's hyper-parameters and derived constants to <typeparamref name="T"/>.</summary>
    public OptimizerCoefficients(OptimizerHyper h)
    {
        _decay = h.WeightDecay != 0 ? (byte)1 : (byte)0;
        _useMomentum = h.Momentum != 0 ? (byte)1 : (byte)0;
        _nesterov = h.Nesterov ? (byte)1 : (byte)0;
        LearningRate = T.CreateTruncating(h.LearningRate);
        WeightDecay = T.CreateTruncating(h.WeightDecay);
        Momentum = T.CreateTruncating(h.Momentum);
        Keep = T.CreateTruncating(1 - h.Dampening);
        OneMinusBeta1 = T.CreateTruncating(1 - h.Beta1);
        Beta2 = T.CreateTruncating(h.Beta2);
        OneMinusBeta2 = T.CreateTruncating(1 - h.Beta2);
        AdamStepSize = T.CreateTruncating(h.LearningRate / (1 - Math.Pow(h.Beta1, h.Step)));
        AdamCorrection2Sqrt = T.CreateTruncating(Math.Sqrt(1 - Math.Pow(h.Beta2, h.Step)));
        Shrink = T.CreateTruncating(1 - h.LearningRate * h.WeightDecay);
        Alpha = T.CreateTruncating(h.Alpha);
        OneMinusAlpha = T.CreateTruncating(1 - h.Alpha);
        Eps = T.CreateTruncating(h.Eps);
    }

    private readonly byte _decay, _useMomentum, _nesterov;

    /// <summary>Whether weight decay is on (WeightDecay != 0).</summary>
    public bool Decay => _decay != 0;
    /// <summary>SGD and RMSprop: whether momentum is on (Momentum != 0).</summary>
    public bool UseMomentum => _useMomentum != 0;
    /// <summary>SGD: Nesterov momentum.</summary>
    public bool Nesterov => _nesterov != 0;
    /// <summary>lr.</summary>
    public T LearningRate { get; }
    /// <summary>wd.</summary>
    public T WeightDecay { get; }
    /// <summary>SGD and RMSprop momentum.</summary>
    public T Momentum { get; }
    /// <summary>SGD: 1 - dampening, the weight of the new gradient in the momentum buffer.</summary>
    public T Keep { get; }
    /// <summary>Adam: 1 - beta1.</summary>
    public T OneMinusBeta1 { get; }
    /// <summary>Adam: beta2.</summary>
    public T Beta2 { get; }
    /// <summary>Adam: 1 - beta2.</summary>
    public T OneMinusBeta2 { get; }
    /// <summary>Adam: lr / (1 - beta1^step), the first bias correction folded into the step size.</summary>
    public T AdamStepSize { get; }
    /// <summary>Adam: sqrt(1 - beta2^step), the second bias correction.</summary>
    public T AdamCorrection2Sqrt { get; }
    /// <summary>AdamW: 1 - lr wd, the decoupled decay factor.</summary>
    public T Shrink { get; }
    /// <summary>RMSprop: alpha.</summary>
    public T Alpha { get; }
    /// <summary>RMSprop: 1 - alpha.</summary>
    public T OneMinusAlpha { get; }
    /// <summary>Added to the denominator.</summary>
    public T Eps { get; }
}
