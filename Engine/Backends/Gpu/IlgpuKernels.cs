using ILGPU;
using ILGPU.Runtime;

namespace Tensorium;

/// <summary>
/// Makes the <see cref="IlgpuKernel{TLauncher}"/> of a kernel method, typed by its parameters, so
/// a launch is checked by the compiler. <c>Auto</c>: a kernel whose first parameter is its index
/// (Index1D/2D/3D), launched over an index space that ILGPU cuts into groups. <c>Grouped</c>: an
/// explicitly grouped kernel (shared memory, barriers), launched with a <see cref="KernelConfig"/>;
/// on the emulated device its launcher picks the accelerator by group size (<see cref="Routed{TLauncher}"/>).
/// One overload per parameter count, as ILGPU's own loaders (up to 8 and 9 parameters: pack more
/// into a struct).
/// </summary>
internal static class IlgpuKernels
{
    public static IlgpuKernel<Action<TIndex, T1>> Auto<TIndex, T1>(Action<TIndex, T1> kernel)
        where TIndex : struct, IIndex where T1 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: false), accelerator => accelerator.LoadAutoGroupedStreamKernel(kernel));

    public static IlgpuKernel<Action<TIndex, T1, T2>> Auto<TIndex, T1, T2>(Action<TIndex, T1, T2> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: false), accelerator => accelerator.LoadAutoGroupedStreamKernel(kernel));

    public static IlgpuKernel<Action<TIndex, T1, T2, T3>> Auto<TIndex, T1, T2, T3>(Action<TIndex, T1, T2, T3> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: false), accelerator => accelerator.LoadAutoGroupedStreamKernel(kernel));

    public static IlgpuKernel<Action<TIndex, T1, T2, T3, T4>> Auto<TIndex, T1, T2, T3, T4>(Action<TIndex, T1, T2, T3, T4> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct where T4 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: false), accelerator => accelerator.LoadAutoGroupedStreamKernel(kernel));

    public static IlgpuKernel<Action<TIndex, T1, T2, T3, T4, T5>> Auto<TIndex, T1, T2, T3, T4, T5>(Action<TIndex, T1, T2, T3, T4, T5> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: false), accelerator => accelerator.LoadAutoGroupedStreamKernel(kernel));

    public static IlgpuKernel<Action<TIndex, T1, T2, T3, T4, T5, T6>> Auto<TIndex, T1, T2, T3, T4, T5, T6>(Action<TIndex, T1, T2, T3, T4, T5, T6> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: false), accelerator => accelerator.LoadAutoGroupedStreamKernel(kernel));

    public static IlgpuKernel<Action<TIndex, T1, T2, T3, T4, T5, T6, T7>> Auto<TIndex, T1, T2, T3, T4, T5, T6, T7>(Action<TIndex, T1, T2, T3, T4, T5, T6, T7> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: false), accelerator => accelerator.LoadAutoGroupedStreamKernel(kernel));

    public static IlgpuKernel<Action<TIndex, T1, T2, T3, T4, T5, T6, T7, T8>> Auto<TIndex, T1, T2, T3, T4, T5, T6, T7, T8>(Action<TIndex, T1, T2, T3, T4, T5, T6, T7, T8> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: false), accelerator => accelerator.LoadAutoGroupedStreamKernel(kernel));

    public static IlgpuKernel<Action<KernelConfig, T1>> Grouped<T1>(Action<T1> kernel)
        where T1 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: true), accelerator => Routed(accelerator, a => a.LoadStreamKernel(kernel),
            (narrow, wide) => (c, x1) => Pick(c, narrow, wide)(c, x1)));

    public static IlgpuKernel<Action<KernelConfig, T1, T2>> Grouped<T1, T2>(Action<T1, T2> kernel)
        where T1 : struct where T2 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: true), accelerator => Routed(accelerator, a => a.LoadStreamKernel(kernel),
            (narrow, wide) => (c, x1, x2) => Pick(c, narrow, wide)(c, x1, x2)));

    public static IlgpuKernel<Action<KernelConfig, T1, T2, T3>> Grouped<T1, T2, T3>(Action<T1, T2, T3> kernel)
        where T1 : struct where T2 : struct where T3 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: true), accelerator => Routed(accelerator, a => a.LoadStreamKernel(kernel),
            (narrow, wide) => (c, x1, x2, x3) => Pick(c, narrow, wide)(c, x1, x2, x3)));

    public static IlgpuKernel<Action<KernelConfig, T1, T2, T3, T4>> Grouped<T1, T2, T3, T4>(Action<T1, T2, T3, T4> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: true), accelerator => Routed(accelerator, a => a.LoadStreamKernel(kernel),
            (narrow, wide) => (c, x1, x2, x3, x4) => Pick(c, narrow, wide)(c, x1, x2, x3, x4)));

    public static IlgpuKernel<Action<KernelConfig, T1, T2, T3, T4, T5>> Grouped<T1, T2, T3, T4, T5>(Action<T1, T2, T3, T4, T5> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: true), accelerator => Routed(accelerator, a => a.LoadStreamKernel(kernel),
            (narrow, wide) => (c, x1, x2, x3, x4, x5) => Pick(c, narrow, wide)(c, x1, x2, x3, x4, x5)));

    public static IlgpuKernel<Action<KernelConfig, T1, T2, T3, T4, T5, T6>> Grouped<T1, T2, T3, T4, T5, T6>(Action<T1, T2, T3, T4, T5, T6> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: true), accelerator => Routed(accelerator, a => a.LoadStreamKernel(kernel),
            (narrow, wide) => (c, x1, x2, x3, x4, x5, x6) => Pick(c, narrow, wide)(c, x1, x2, x3, x4, x5, x6)));

    public static IlgpuKernel<Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7>> Grouped<T1, T2, T3, T4, T5, T6, T7>(Action<T1, T2, T3, T4, T5, T6, T7> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: true), accelerator => Routed(accelerator, a => a.LoadStreamKernel(kernel),
            (narrow, wide) => (c, x1, x2, x3, x4, x5, x6, x7) => Pick(c, narrow, wide)(c, x1, x2, x3, x4, x5, x6, x7)));

    public static IlgpuKernel<Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8>> Grouped<T1, T2, T3, T4, T5, T6, T7, T8>(Action<T1, T2, T3, T4, T5, T6, T7, T8> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: true), accelerator => Routed(accelerator, a => a.LoadStreamKernel(kernel),
            (narrow, wide) => (c, x1, x2, x3, x4, x5, x6, x7, x8) => Pick(c, narrow, wide)(c, x1, x2, x3, x4, x5, x6, x7, x8)));

    public static IlgpuKernel<Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8, T9>> Grouped<T1, T2, T3, T4, T5, T6, T7, T8, T9>(Action<T1, T2, T3, T4, T5, T6, T7, T8, T9> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct =>
        new(new KernelEntry(kernel.Method, ExplicitlyGrouped: true), accelerator => Routed(accelerator, a => a.LoadStreamKernel(kernel),
            (narrow, wide) => (c, x1, x2, x3, x4, x5, x6, x7, x8, x9) => Pick(c, narrow, wide)(c, x1, x2, x3, x4, x5, x6, x7, x8, x9)));

    /// <summary>
    /// The launcher of an explicitly grouped kernel on <paramref name="accelerator"/>; on the
    /// emulated device, one that sends launches with groups too large for its narrow accelerator
    /// to the wide one (see <see cref="IlgpuContext.EmulatedWide"/>), compiled there on first need.
    /// </summary>
    /// <remarks>
    /// The wide launcher is made once, under a lock, by <see cref="LazyInitializer"/> rather than
    /// <see cref="Lazy{T}"/>: Lazy's T is annotated for the trimmer (keep a parameterless
    /// constructor) and TLauncher here is not, so the trim analysis failed (IL2091) and the trimmed
    /// GPU runner (<c>./build.sh gpu-check</c>) would not publish. The factory overload used here
    /// has no such requirement.
    /// </remarks>
    private static TLauncher Routed<TLauncher>(Accelerator accelerator, Func<Accelerator, TLauncher> load,
        Func<TLauncher, Func<TLauncher>, TLauncher> route)
    {
        var launcher = load(accelerator);
        if (IlgpuContext.EmulatedWide(accelerator) is not { } wide) return launcher;
        TLauncher wideLauncher = default!;
        bool loaded = false;
        object? gate = null;
        Func<TLauncher> loadWide = () => load(wide);
        return route(launcher, () => LazyInitializer.EnsureInitialized(ref wideLauncher, ref loaded, ref gate, loadWide));
    }

    /// <summary>The launcher for <paramref name="config"/>'s group size (see <see cref="Routed{TLauncher}"/>).</summary>
    private static TLauncher Pick<TLauncher>(KernelConfig config, TLauncher narrow, Func<TLauncher> wide) =>
        config.GroupDim.Size > IlgpuContext.EmulatedNarrowGroup ? wide() : narrow;
}
