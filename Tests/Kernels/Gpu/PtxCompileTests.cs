using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;

namespace Tensorium.Tests.Kernels.Gpu;

/// <summary>
/// Every kernel instantiation the ILGPU backend can launch (<see cref="KernelRegistry"/>)
/// compiles to PTX for sm_80 (A100) and sm_90 (H100) through ILGPU's PTX backend, which needs no
/// GPU: a kernel that ILGPU cannot compile for CUDA fails here, on a machine without one.
/// </summary>
public class PtxCompileTests
{
    private static readonly CudaArchitecture[] Architectures = [CudaArchitecture.SM_80, CudaArchitecture.SM_90];

    // The test's own context, not the emulated device's: a kernel that fails here must not break
    // the emulated device for the rest of the run.
    private Context _context = NewContext();

    private static Context NewContext() => Context.Create(builder => builder.EnableAlgorithms());

    [OneTimeTearDown]
    public void DisposeContext() => _context.Dispose();

    // By position in the registry (the entry type is internal to the Engine), named for the kernel.
    public static IEnumerable<TestCaseData> Cases() =>
        from kernel in KernelRegistry.All().Select((entry, index) => (entry, index))
        from arch in Architectures
        select new TestCaseData(kernel.index, arch).SetArgDisplayNames(kernel.entry.ToString(), arch.ToString());

    [Test]
    public void TheMemoryKernelsAreRegistered()
    {
        var names = KernelRegistry.All().Select(k => k.ToString()).ToList();
        Assert.That(names, Does.Contain("Memory.Fill<Single>"));
        Assert.That(names, Does.Contain("Memory.CopyStrided<Int64, Single, Casts>"));
        Assert.That(names.Count(n => n.StartsWith("Memory.CopyStrided<", StringComparison.Ordinal)), Is.EqualTo(16));
    }

    [TestCaseSource(nameof(Cases))]
    public void CompilesForPtx(int index, CudaArchitecture arch)
    {
        var kernel = KernelRegistry.All()[index];
        // PTX ISA 8.8, the newest ILGPU 1.5.3 knows, covers both sm_80 and sm_90.
        using var backend = new PTXBackend(_context, new CudaCapabilityContext(arch), arch, CudaInstructionSet.ISA_88, null);
        var entry = kernel.ExplicitlyGrouped
            ? EntryPointDescription.FromExplicitlyGroupedKernel(kernel.Method)
            : EntryPointDescription.FromImplicitlyGroupedKernel(kernel.Method);
        PTXCompiledKernel compiled;
        try
        {
            compiled = (PTXCompiledKernel)backend.Compile(entry, default);
        }
        catch
        {
            // A failed compile leaves an ILGPU context broken (later compiles in it fail with a
            // NullReferenceException): start a fresh one so only this case fails.
            _context.Dispose();
            _context = NewContext();
            throw;
        }
        // ILGPU 1.5.3 was seen to write ".target sm_80" when asked for SM_90 as well (sm_80 code
        // runs on sm_90), so the test checks that a target is written, not which one.
        Assert.That(compiled.PTXAssembly, Does.Contain(".entry"));
        Assert.That(compiled.PTXAssembly, Does.Contain(".target sm_"));
    }
}
