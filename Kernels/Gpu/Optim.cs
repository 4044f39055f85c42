using System.Numerics;
using ILGPU;
using Tensorium.Kernels.Ops;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// Fused optimizer updates, in place: thread i reads parameter i, its gradient and its state once,
/// applies <see cref="OptimizerRules"/>' formula (the very code the CPU's update and its tests are
/// checked against) with the constants the host rounded once (<see cref="OptimizerCoefficients{T}"/>),
/// and writes the parameter and the state once. A state the step does not use (SGD or RMSprop
/// without momentum) is passed as any view of the right length and is neither read nor written.
/// </summary>
public static class Optim
{
    /// <summary>SGD (<see cref="OptimizerRules.Sgd"/>); buf is the momentum buffer.</summary>
    public static void Sgd<T>(Index1D i, ArrayView<T> p, ArrayView<T> g, ArrayView<T> buf, OptimizerCoefficients<T> c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T pv = p[i], bv = c.UseMomentum ? buf[i] : T.Zero;
        OptimizerRules.Sgd(ref pv, g[i], ref bv, c);
        p[i] = pv;
        if (c.UseMomentum) buf[i] = bv;
    }

    /// <summary>Adam with L2 decay (<see cref="OptimizerRules.Adam"/>); m and v are exp_avg and exp_avg_sq.</summary>
    public static void Adam<T>(Index1D i, ArrayView<T> p, ArrayView<T> g, ArrayView<T> m, ArrayView<T> v, OptimizerCoefficients<T> c)
        where T : unmanaged, IFloatingPointIeee754<T> => AdamAt(i, p, g, m, v, c, decoupled: false);

    /// <summary>AdamW, Adam with decoupled decay (<see cref="OptimizerRules.Adam"/>).</summary>
    public static void AdamW<T>(Index1D i, ArrayView<T> p, ArrayView<T> g, ArrayView<T> m, ArrayView<T> v, OptimizerCoefficients<T> c)
        where T : unmanaged, IFloatingPointIeee754<T> => AdamAt(i, p, g, m, v, c, decoupled: true);

    private static void AdamAt<T>(int i, ArrayView<T> p, ArrayView<T> g, ArrayView<T> m, ArrayView<T> v, OptimizerCoefficients<T> c, bool decoupled)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T pv = p[i], mv = m[i], vv = v[i];
        OptimizerRules.Adam(ref pv, g[i], ref mv, ref vv, c, decoupled);
        p[i] = pv;
        m[i] = mv;
        v[i] = vv;
    }

    /// <summary>RMSprop (<see cref="OptimizerRules.RmsProp"/>); square is square_avg, buf the momentum buffer.</summary>
    public static void RmsProp<T>(Index1D i, ArrayView<T> p, ArrayView<T> g, ArrayView<T> square, ArrayView<T> buf, OptimizerCoefficients<T> c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T pv = p[i], sv = square[i], bv = c.UseMomentum ? buf[i] : T.Zero;
        OptimizerRules.RmsProp(ref pv, g[i], ref sv, ref bv, c);
        p[i] = pv;
        square[i] = sv;
        if (c.UseMomentum) buf[i] = bv;
    }
}
