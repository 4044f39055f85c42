using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Tensorium;

/// <summary>
/// Every kernel instantiation the ILGPU backend can launch, so that a test can compile each one
/// for PTX (sm_80, sm_90) without a GPU. Kernels register themselves when created
/// (<see cref="IlgpuKernel{TLauncher}"/>), which happens when their family's static fields are
/// initialised; <see cref="All"/> first runs the static initialiser of every class that holds
/// such fields, so it sees the kernels of families no op has used yet.
/// </summary>
internal static class KernelRegistry
{
    private static readonly Lock Gate = new();
    private static readonly List<KernelEntry> Entries = [];

    /// <summary>Records one instantiation (each once).</summary>
    public static void Add(KernelEntry entry)
    {
        lock (Gate)
            if (!Entries.Contains(entry)) Entries.Add(entry);
    }

    /// <summary>Every registered instantiation, after initialising every class in this assembly that declares kernels.</summary>
    [RequiresUnreferencedCode("Finds the kernel families by scanning this assembly's types: for tests, which run untrimmed.")]
    public static IReadOnlyList<KernelEntry> All()
    {
        foreach (var type in typeof(KernelRegistry).Assembly.GetTypes())
            if (!type.ContainsGenericParameters && DeclaresKernels(type))
                RuntimeHelpers.RunClassConstructor(type.TypeHandle);
        lock (Gate) return [.. Entries];
    }

    private static bool DeclaresKernels([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.NonPublicFields)] Type type) =>
        type.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
            .Any(f => f.FieldType.IsGenericType && f.FieldType.GetGenericTypeDefinition() == typeof(IlgpuKernel<>));
}
