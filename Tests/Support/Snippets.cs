using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Tensorium.Tests.Support;

/// <summary>
/// A fenced block of a Markdown file: the line it starts on, its text, and the HTML comment on
/// the line before its fence (e.g. <c>&lt;!-- excerpt: Autograd/Ops/MatMulOp.cs --&gt;</c>), if any.
/// </summary>
public sealed record Snippet(string File, int Line, string Code, string? Marker)
{
    /// <inheritdoc />
    public override string ToString() => $"{Path.GetFileName(File)}:{Line}";
}

/// <summary>
/// Finds the C# in Markdown files and compiles it as a user's console app would (top-level
/// statements, the SDK's implicit usings, references to .NET and the Tensorium libraries), so
/// documentation that stops compiling fails a test instead of a reader.
/// </summary>
public static partial class Snippets
{
    /// <summary>The line that, right before a fence, keeps a block out of the checks (a fragment of a larger program).</summary>
    public const string NotCompiledMarker = "<!-- not compiled:";

    /// <summary>The line that, right before a fence, says the block is quoted from a file of the repository: <c>&lt;!-- excerpt: PATH --&gt;</c>.</summary>
    public const string ExcerptMarker = "<!-- excerpt:";

    /// <summary>What <c>ImplicitUsings</c> gives a console app.</summary>
    private const string ImplicitUsings = "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; global using System.Net.Http; global using System.Threading; global using System.Threading.Tasks;";

    private static readonly Lazy<MetadataReference[]> References = new(LoadReferences);

    [GeneratedRegex(@"^```(\w*)[ \t]*\r?\n(.*?)^```[ \t]*$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Fence();

    /// <summary>The ```csharp blocks of <paramref name="markdownPath"/> in order, less those marked <see cref="NotCompiledMarker"/> or <see cref="ExcerptMarker"/>.</summary>
    public static List<Snippet> CSharpBlocks(string markdownPath) =>
        Blocks(markdownPath, "csharp").Where(b => b.Marker is not { } m || !(m.StartsWith(NotCompiledMarker, StringComparison.Ordinal) || m.StartsWith(ExcerptMarker, StringComparison.Ordinal))).ToList();

    /// <summary>Every block of <paramref name="markdownPath"/> fenced as <paramref name="language"/> (```csharp, ```text), in order, with its marker.</summary>
    public static List<Snippet> Blocks(string markdownPath, string language)
    {
        var text = System.IO.File.ReadAllText(markdownPath);
        var result = new List<Snippet>();
        foreach (Match m in Fence().Matches(text))
        {
            if (m.Groups[1].Value != language) continue;
            var before = text[..m.Index].TrimEnd();
            var previousLine = before[(before.LastIndexOf('\n') + 1)..].Trim();
            string? marker = previousLine.StartsWith("<!--", StringComparison.Ordinal) ? previousLine : null;
            int line = text[..m.Index].Count(c => c == '\n') + 1;
            result.Add(new Snippet(markdownPath, line, m.Groups[2].Value, marker));
        }
        return result;
    }

    /// <summary>Compiles <paramref name="code"/> as a console program; the errors (empty when it compiles) and the assembly's bytes.</summary>
    public static (List<string> Errors, byte[]? Assembly) Compile(string code, string name)
    {
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create(
            name,
            [CSharpSyntaxTree.ParseText(ImplicitUsings, options), CSharpSyntaxTree.ParseText(code, options, path: name + ".cs")],
            References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: false));
        using var output = new MemoryStream();
        var result = compilation.Emit(output);
        var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        return (errors, result.Success ? output.ToArray() : null);
    }

    /// <summary>
    /// Compiles and runs <paramref name="code"/> with <paramref name="args"/> in this process (the
    /// Tensorium assemblies already loaded are the ones it uses); what it printed.
    /// </summary>
    public static string Run(string code, string name, params string[] args)
    {
        var (errors, bytes) = Compile(code, name);
        Assert.That(errors, Is.Empty, $"{name} does not compile:\n{string.Join("\n", errors)}");
        var context = new AssemblyLoadContext(name, isCollectible: true);
        // Tensorium and its dependencies resolve to the copies this test process has loaded.
        context.Resolving += (_, assemblyName) => AssemblyLoadContext.Default.LoadFromAssemblyName(assemblyName);
        var writer = new StringWriter();
        var console = Console.Out;
        try
        {
            var assembly = context.LoadFromStream(new MemoryStream(bytes!));
            Console.SetOut(writer);
            assembly.EntryPoint!.Invoke(null, assembly.EntryPoint.GetParameters().Length == 0 ? null : [args]);
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            Assert.Fail($"{name} threw {e.InnerException.GetType().Name}: {e.InnerException.Message}\nit printed:\n{writer}\n{e.InnerException.StackTrace}");
        }
        finally
        {
            Console.SetOut(console);
            context.Unload();
        }
        return writer.ToString();
    }

    /// <summary>The folder holding Tensorium.sln, found from the test's output folder upwards.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "Tensorium.sln"))) return dir.FullName;
        Assert.Fail($"no Tensorium.sln above {AppContext.BaseDirectory}; the documentation checks need the repository.");
        return "";
    }

    /// <summary>.NET's own assemblies, and what a user gets from the Tensorium package: the four libraries, System.Numerics.Tensors and ILGPU.</summary>
    private static MetadataReference[] LoadReferences()
    {
        var framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var package = new[] { "Tensorium.Kernels", "Tensorium.Engine", "Tensorium.Autograd", "Tensorium.Layers", "System.Numerics.Tensors", "ILGPU", "ILGPU.Algorithms" }
            .Select(n => Path.Combine(AppContext.BaseDirectory, n + ".dll"));
        return Directory.EnumerateFiles(framework, "*.dll").Where(IsManaged).Concat(package)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();
    }

    private static bool IsManaged(string path)
    {
        try
        {
            AssemblyName.GetAssemblyName(path);
            return true;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }
}
