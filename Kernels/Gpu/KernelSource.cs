using System.Text.RegularExpressions;

namespace Tensorium.Kernels.Gpu;

/// <summary>The two languages the shared kernel source compiles to.</summary>
public enum KernelDialect
{
    /// <summary>OpenCL C 1.2.</summary>
    OpenCL,
    /// <summary>CUDA C++ through NVRTC.</summary>
    Cuda,
}

/// <summary>
/// The kernel sources, embedded in this assembly from Kernels/Gpu/Source: one prelude that maps
/// the shared dialect onto OpenCL or CUDA, and one .gpu file per kernel family.
/// </summary>
public static partial class KernelSource
{
    private const string Prefix = "Tensorium.Kernels.Gpu.Source.";

    /// <summary>The kernel families, by file name without extension (for example "elementwise").</summary>
    public static IReadOnlyList<string> Files { get; } = typeof(KernelSource).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".gpu", StringComparison.Ordinal))
        .Select(n => n[Prefix.Length..^".gpu".Length]).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The raw text of an embedded source file, such as "prelude.h" or "gemm.gpu".</summary>
    public static string Text(string fileName)
    {
        using var stream = typeof(KernelSource).Assembly.GetManifestResourceStream(Prefix + fileName)
            ?? throw new ArgumentException($"gpu: no kernel source named '{fileName}'; known: {string.Join(", ", Files)}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The complete program text for <paramref name="file"/> in <paramref name="dialect"/>: dialect switch, prelude, kernels.</summary>
    public static string Compose(string file, KernelDialect dialect) =>
        $"#define {(dialect == KernelDialect.OpenCL ? "TS_OPENCL" : "TS_CUDA")} 1\n"
        + Text("prelude.h")
        + $"\n#line 1 \"{file}.gpu\"\n"
        + Text(file + ".gpu");

    /// <summary>
    /// The names of the kernels defined in <paramref name="source"/> (each <c>KERNEL name(</c> or
    /// <c>KERNEL_BOUNDED(threads, groups) name(</c>),
    /// in order, without duplicates. Kernels are <c>extern "C"</c> in CUDA, so these are also their
    /// symbol names. A name inside an #ifdef that a variant leaves out is listed all the same.
    /// </summary>
    public static IReadOnlyList<string> KernelNames(string source) =>
        KernelPattern().Matches(source).Select(m => m.Groups[1].Value).Distinct().ToArray();

    /// <summary>
    /// The define sets a .gpu file declares on its first line, <c>// variants: A=1 B | C=2</c>:
    /// one array of defines per variant. Empty when the first line is not a variants line.
    /// </summary>
    public static IReadOnlyList<string[]> Variants(string fileText)
    {
        string first = fileText.Split('\n', 2)[0].Trim();
        const string prefix = "// variants:";
        if (!first.StartsWith(prefix, StringComparison.Ordinal)) return [];
        return first[prefix.Length..].Split('|')
            .Select(v => v.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
    }

    [GeneratedRegex(@"\bKERNEL(?:_BOUNDED\s*\([^()]*\))?\s+([A-Za-z_]\w*)\s*\(")]
    private static partial Regex KernelPattern();
}
