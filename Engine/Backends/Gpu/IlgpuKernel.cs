using System.Reflection;

namespace Tensorium;

/// <summary>
/// One kernel instantiation (a static kernel method with its generic arguments bound) that the
/// ILGPU backend launches: what <see cref="KernelRegistry"/> lists for the PTX compile test.
/// </summary>
/// <param name="Method">The kernel method, generic arguments bound.</param>
/// <param name="ExplicitlyGrouped">True for a kernel launched with a <c>KernelConfig</c> (groups, shared memory, barriers); false for an auto-grouped kernel over an index space.</param>
internal sealed record KernelEntry(MethodInfo Method, bool ExplicitlyGrouped)
{
    /// <inheritdoc />
    public override string ToString()
    {
        string arguments = Method.IsGenericMethod ? $"<{string.Join(", ", Method.GetGenericArguments().Select(t => t.Name))}>" : "";
        return $"{Method.DeclaringType?.Name}.{Method.Name}{arguments}";
    }
}

/// <summary>
/// A kernel instantiation and how to load it as a typed launcher (<typeparamref name="TLauncher"/>,
/// the delegate ILGPU's loaders return). Families keep these in static readonly fields; creating
/// one registers it, and each backend loads it once and keeps the launcher (see
/// <see cref="IlgpuBackend.Launcher{TLauncher}"/>). Made through <see cref="IlgpuKernels"/>.
/// </summary>
internal sealed class IlgpuKernel<TLauncher> where TLauncher : Delegate
{
    public IlgpuKernel(KernelEntry entry, Func<ILGPU.Runtime.Accelerator, TLauncher> load)
    {
        Entry = entry;
        Load = load;
        KernelRegistry.Add(entry);
    }

    /// <summary>The registered instantiation.</summary>
    public KernelEntry Entry { get; }

    /// <summary>Compiles the kernel for an accelerator and returns its launcher (the backend calls this once).</summary>
    public Func<ILGPU.Runtime.Accelerator, TLauncher> Load { get; }

    /// <summary>The launcher on <paramref name="backend"/>'s accelerator, loaded on first use.</summary>
    public TLauncher On(IlgpuBackend backend) => backend.Launcher(this);
}
