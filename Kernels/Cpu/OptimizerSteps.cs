using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// Fused, in-place optimizer updates over contiguous parameter, gradient and state arrays of
/// equal length. Each update reads every array once and writes the parameter and its state once:
/// the unfused version (a dozen tensor ops per parameter) would stream the same memory a dozen
/// times and allocate a temporary for each. Formulas follow torch.optim (single-tensor path) so
/// trajectories match PyTorch up to float rounding. Arguments arrive validated (the optimizer op
/// checks buffers, step count and sizes once, above the backends).
/// <para>
/// Every update is written once, on <see cref="Vector256{T}"/> lanes; the last few elements of
/// an array are copied into zero-padded scratch vectors, updated, and copied back, so there is no
/// second scalar copy of each formula to keep in sync.
/// </para>
/// </summary>
public static unsafe class OptimizerSteps
{
    private const int Chunk = 1 << 14;

    /// <summary>
    /// SGD (<see cref="OptimizerRules.Sgd"/>). PyTorch starts the momentum buffer as a copy of the
    /// first gradient: callers get that by passing a zeroed buffer and Dampening = 0 on the first
    /// step (momentum * 0 + 1 * g is exactly g). <paramref name="momentumBuffer"/> may be null when
    /// Momentum is 0.
    /// </summary>
    public static void Sgd<T>(T* param, T* grad, T* momentumBuffer, int count, OptimizerHyper h) where T : unmanaged, IFloatingPointIeee754<T> =>
        Run(new SgdUpdate<T>(new(h)), param, grad, h.Momentum != 0 ? momentumBuffer : null, null, count);

    /// <summary>Adam or, with <paramref name="decoupled"/>, AdamW (<see cref="OptimizerRules.Adam"/>); both state buffers are required.</summary>
    public static void Adam<T>(T* param, T* grad, T* expAvg, T* expAvgSq, int count, OptimizerHyper h, bool decoupled) where T : unmanaged, IFloatingPointIeee754<T> =>
        Run(new AdamUpdate<T>(new(h), decoupled), param, grad, expAvg, expAvgSq, count);

    /// <summary>
    /// RMSprop, not centered (<see cref="OptimizerRules.RmsProp"/>). <paramref name="momentumBuffer"/>
    /// may be null when Momentum is 0.
    /// </summary>
    public static void RmsProp<T>(T* param, T* grad, T* squareAvg, T* momentumBuffer, int count, OptimizerHyper h) where T : unmanaged, IFloatingPointIeee754<T> =>
        Run(new RmsPropUpdate<T>(new(h)), param, grad, squareAvg, h.Momentum != 0 ? momentumBuffer : null, count);

    /// <summary>One optimizer's update of a vector of parameters, given their gradients and up to two state vectors.</summary>
    private interface IUpdate<T> where T : unmanaged
    {
        void Apply(ref Vector256<T> p, Vector256<T> g, ref Vector256<T> s1, ref Vector256<T> s2);
    }

    // The three updates below are OptimizerRules' formulas on 256-bit lanes, with the same
    // constants (OptimizerCoefficients) broadcast once per call.
    private readonly struct SgdUpdate<T>(OptimizerCoefficients<T> c) : IUpdate<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly Vector256<T> _lr = Vector256.Create(c.LearningRate), _wd = Vector256.Create(c.WeightDecay),
            _momentum = Vector256.Create(c.Momentum), _keep = Vector256.Create(c.Keep);
        private readonly bool _decay = c.Decay, _useMomentum = c.UseMomentum, _nesterov = c.Nesterov;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply(ref Vector256<T> p, Vector256<T> g, ref Vector256<T> buf, ref Vector256<T> unused)
        {
            if (_decay) g += _wd * p;
            if (_useMomentum)
            {
                buf = _momentum * buf + _keep * g;
                g = _nesterov ? g + _momentum * buf : buf;
            }
            p -= _lr * g;
        }
    }

    private readonly struct AdamUpdate<T>(OptimizerCoefficients<T> c, bool decoupled) : IUpdate<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly Vector256<T> _oneMinusBeta1 = Vector256.Create(c.OneMinusBeta1), _beta2 = Vector256.Create(c.Beta2),
            _oneMinusBeta2 = Vector256.Create(c.OneMinusBeta2), _stepSize = Vector256.Create(c.AdamStepSize),
            _correction2Sqrt = Vector256.Create(c.AdamCorrection2Sqrt), _eps = Vector256.Create(c.Eps),
            _wd = Vector256.Create(c.WeightDecay), _shrink = Vector256.Create(c.Shrink);
        private readonly bool _l2 = !decoupled && c.Decay, _decoupled = decoupled && c.Decay;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply(ref Vector256<T> p, Vector256<T> g, ref Vector256<T> m, ref Vector256<T> v)
        {
            if (_l2) g += _wd * p;
            if (_decoupled) p *= _shrink;
            m += _oneMinusBeta1 * (g - m);                       // torch: exp_avg.lerp_(grad, 1 - beta1)
            v = _beta2 * v + _oneMinusBeta2 * (g * g);
            var denominator = Vector256.Sqrt(v) / _correction2Sqrt + _eps;
            p -= _stepSize * (m / denominator);
        }
    }

    private readonly struct RmsPropUpdate<T>(OptimizerCoefficients<T> c) : IUpdate<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly Vector256<T> _lr = Vector256.Create(c.LearningRate), _wd = Vector256.Create(c.WeightDecay), _alpha = Vector256.Create(c.Alpha),
            _oneMinusAlpha = Vector256.Create(c.OneMinusAlpha), _eps = Vector256.Create(c.Eps), _momentum = Vector256.Create(c.Momentum);
        private readonly bool _decay = c.Decay, _useMomentum = c.UseMomentum;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply(ref Vector256<T> p, Vector256<T> g, ref Vector256<T> squareAvg, ref Vector256<T> buf)
        {
            if (_decay) g += _wd * p;
            squareAvg = _alpha * squareAvg + _oneMinusAlpha * (g * g);
            var step = g / (Vector256.Sqrt(squareAvg) + _eps);
            if (_useMomentum)
            {
                buf = _momentum * buf + step;
                step = buf;
            }
            p -= _lr * step;
        }
    }

    /// <summary>Splits the arrays into chunks (in parallel when large) and updates each.</summary>
    private static void Run<T, TUpdate>(TUpdate update, T* param, T* grad, T* state1, T* state2, int count)
        where T : unmanaged, IFloatingPointIeee754<T> where TUpdate : struct, IUpdate<T>
    {
        nint p = (nint)param, g = (nint)grad, s1 = (nint)state1, s2 = (nint)state2;
        int chunks = (count + Chunk - 1) / Chunk;
        CpuParallel.For(chunks, c =>
        {
            int start = c * Chunk;
            RunRange(in update, (T*)p + start, (T*)g + start, s1 == 0 ? null : (T*)s1 + start, s2 == 0 ? null : (T*)s2 + start, Math.Min(Chunk, count - start));
        }, Chunk * 4);
    }

    private static void RunRange<T, TUpdate>(in TUpdate update, T* p, T* g, T* s1, T* s2, int n)
        where T : unmanaged, IFloatingPointIeee754<T> where TUpdate : struct, IUpdate<T>
    {
        int width = Vector256<T>.Count, i = 0;
        for (; i <= n - width; i += width)
            UpdateVector(in update, p + i, g + i, s1 == null ? null : s1 + i, s2 == null ? null : s2 + i);
        int rest = n - i;
        if (rest == 0) return;

        // The tail: zero-padded copies, one vector update, copy the real lanes back. The padding
        // lanes stay finite (every denominator has + eps) and are thrown away.
        T* scratch = stackalloc T[4 * width];
        new Span<T>(scratch, 4 * width).Clear();
        T* tp = scratch, tg = scratch + width, t1 = scratch + 2 * width, t2 = scratch + 3 * width;
        Copy(p + i, tp, rest);
        Copy(g + i, tg, rest);
        if (s1 != null) Copy(s1 + i, t1, rest);
        if (s2 != null) Copy(s2 + i, t2, rest);
        UpdateVector(in update, tp, tg, s1 == null ? null : t1, s2 == null ? null : t2);
        Copy(tp, p + i, rest);
        if (s1 != null) Copy(t1, s1 + i, rest);
        if (s2 != null) Copy(t2, s2 + i, rest);
    }

    // Inlined, with the update passed by reference: called once per vector, a real call copying
    // the update's broadcast constants (up to eight vectors) each time cost more than the update.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UpdateVector<T, TUpdate>(in TUpdate update, T* p, T* g, T* s1, T* s2)
        where T : unmanaged, IFloatingPointIeee754<T> where TUpdate : struct, IUpdate<T>
    {
        var pv = Vector256.Load(p);
        var a = s1 == null ? Vector256<T>.Zero : Vector256.Load(s1);
        var b = s2 == null ? Vector256<T>.Zero : Vector256.Load(s2);
        update.Apply(ref pv, Vector256.Load(g), ref a, ref b);
        pv.Store(p);
        if (s1 != null) a.Store(s1);
        if (s2 != null) b.Store(s2);
    }

    private static void Copy<T>(T* from, T* to, int n) where T : unmanaged =>
        new ReadOnlySpan<T>(from, n).CopyTo(new Span<T>(to, n));
}
