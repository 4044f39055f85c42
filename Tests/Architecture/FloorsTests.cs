using System.Reflection;
using System.Reflection.Metadata;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace Tensorium.Tests.Architecture;

/// <summary>
/// The floors between the projects hold: Autograd and Layers speak the op vocabulary
/// (<c>Tensorium.Kernels.Ops</c>) but never touch a CPU kernel (<c>Tensorium.Kernels.Cpu</c>),
/// and Layers sees only Engine's public API (Engine grants it no <c>InternalsVisibleTo</c>).
/// </summary>
public class FloorsTests
{
    private const string CpuKernels = "Tensorium.Kernels.Cpu";
    private static readonly string[] Upper = ["Tensorium.Autograd", "Tensorium.Layers"];

    /// <summary>
    /// Every type an assembly refers to, anywhere (signatures, base types, attributes, generic
    /// arguments and method bodies alike), is a row of its TypeRef metadata table: none may live
    /// in the CPU kernels' namespace.
    /// </summary>
    [TestCaseSource(nameof(Upper))]
    public void AssemblyReferencesNoCpuKernelType(string assemblyName)
    {
        var types = ReferencedTypes(Assembly.Load(new AssemblyName(assemblyName)));
        Assert.That(types, Does.Contain("Tensorium.Tensor").And.Contain("Tensorium.Kernels.Ops.OptimizerKind"),
            "the scan should see the Engine and op-vocabulary types both assemblies use");
        var offending = types
            .Where(name => name.StartsWith(CpuKernels + ".", StringComparison.Ordinal))
            .Distinct().Order().ToList();
        Assert.That(offending, Is.Empty,
            $"{assemblyName} refers to CPU kernel types ({string.Join(", ", offending)}); go through Engine's public API or the op vocabulary in Tensorium.Kernels.Ops instead.");
    }

    /// <summary>
    /// The same rule on the sources, which also catches what the compiler leaves out of the
    /// metadata (an unused using directive, a reference in code excluded from this build).
    /// </summary>
    [TestCase("Autograd")]
    [TestCase("Layers")]
    public void SourcesMentionNoCpuKernelNamespace(string folder)
    {
        var root = Path.Combine(RepositoryRoot(), folder);
        var pattern = new Regex(@"\bKernels\.Cpu\b");
        var offending = new List<string>();
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj")) continue;
            var lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
                if (pattern.IsMatch(lines[i])) offending.Add($"{folder}/{relative.Replace('\\', '/')}:{i + 1}: {lines[i].Trim()}");
        }
        Assert.That(offending, Is.Empty, $"{folder}/ mentions the CPU kernels (Kernels.Cpu):\n{string.Join("\n", offending)}");
    }

    /// <summary>Layers reaches Engine (and Autograd) only through their public API.</summary>
    [TestCase("Tensorium.Engine")]
    [TestCase("Tensorium.Autograd")]
    [TestCase("Tensorium.Kernels")]
    public void NoInternalsVisibleToLayers(string assemblyName)
    {
        var friends = Assembly.Load(new AssemblyName(assemblyName)).GetCustomAttributes<InternalsVisibleToAttribute>()
            .Select(a => a.AssemblyName.Split(',')[0].Trim()).ToList();
        Assert.That(friends, Has.None.EqualTo("Tensorium.Layers"),
            $"{assemblyName} grants InternalsVisibleTo to Tensorium.Layers (friends: {string.Join(", ", friends)}); Layers must use only public API.");
    }

    /// <summary>The full names of the types in <paramref name="assembly"/>'s TypeRef table (nested types as Outer+Inner).</summary>
    private static unsafe List<string> ReferencedTypes(Assembly assembly)
    {
        if (!assembly.TryGetRawMetadata(out byte* blob, out int length))
            Assert.Fail($"could not read the metadata of {assembly.GetName().Name}.");
        var reader = new MetadataReader(blob, length);
        var names = new List<string>();
        foreach (var handle in reader.TypeReferences)
        {
            var type = reader.GetTypeReference(handle);
            string name = reader.GetString(type.Name);
            // A nested type's scope is its declaring type's reference; its namespace is the outermost one's.
            while (type.ResolutionScope.Kind == HandleKind.TypeReference)
            {
                type = reader.GetTypeReference((TypeReferenceHandle)type.ResolutionScope);
                name = reader.GetString(type.Name) + "+" + name;
            }
            string ns = reader.GetString(type.Namespace);
            names.Add(ns.Length == 0 ? name : ns + "." + name);
        }
        return names;
    }

    /// <summary>The folder holding Tensorium.sln, found by walking up from the test assembly.</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Tensorium.sln"))) return dir.FullName;
        Assert.Fail($"no Tensorium.sln above {AppContext.BaseDirectory}; the source checks need the repository.");
        return "";
    }
}
