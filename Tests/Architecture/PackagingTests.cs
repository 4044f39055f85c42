using System.Xml.Linq;

namespace Tensorium.Tests.Architecture;

/// <summary>
/// What `./build.sh pack` relies on, checked without packing (which takes minutes): the version
/// and package metadata are set once in Directory.Build.props, exactly the library projects and
/// the Tensorium package opt in to packing, each with a description of its own, and the Tensorium
/// package brings the libraries through its dependency chain. The pack verb itself then builds an
/// app from the packages.
/// </summary>
public class PackagingTests
{
    private static readonly string[] Packable = ["Kernels/Kernels.csproj", "Engine/Engine.csproj", "Autograd/Autograd.csproj", "Layers/Layers.csproj", "Package/Package.csproj"];

    private static string Root => Snippets.RepositoryRoot();

    private static string? Property(XDocument project, string name) =>
        project.Descendants(name).Select(e => e.Value.Trim()).LastOrDefault();

    private static IEnumerable<string> Projects() =>
        Directory.EnumerateFiles(Root, "*.csproj", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(Root, p).Replace('\\', '/'))
            .Where(p => !p.Split('/').Any(part => part is "bin" or "obj"));

    [Test]
    public void MetadataIsSetOnceForEveryPackage()
    {
        var props = XDocument.Load(Path.Combine(Root, "Directory.Build.props"));
        Assert.That(Property(props, "Version"), Does.Match(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$"), "one semantic version for every package");
        Assert.That(Property(props, "IsPackable"), Is.EqualTo("false"), "projects pack only when they opt in");
        Assert.That(Property(props, "PackageLicenseExpression"), Is.EqualTo("MIT"));
        Assert.That(File.Exists(Path.Combine(Root, "LICENSE")), Is.True);
        Assert.That(Property(props, "PackageReadmeFile"), Is.EqualTo("README.md"));
        Assert.That(Property(props, "Authors"), Is.Not.Empty);
        Assert.That(Property(props, "RepositoryType"), Is.EqualTo("git"));
        Assert.That(Property(props, "PublishRepositoryUrl"), Is.EqualTo("true"));
        Assert.That(Property(props, "IncludeSymbols"), Is.EqualTo("true"));
        Assert.That(Property(props, "SymbolPackageFormat"), Is.EqualTo("snupkg"));
        var packed = props.Descendants("None").Where(n => (string?)n.Attribute("Pack") == "true").Select(n => ((string)n.Attribute("Include")!).Replace("$(MSBuildThisFileDirectory)", ""));
        Assert.That(packed, Is.EquivalentTo(new[] { "README.md", "LICENSE" }), "every package carries the README and the licence");
    }

    [Test]
    public void ExactlyTheLibrariesAndTheTensoriumPackagePack()
    {
        var projects = Projects().ToList();
        Assert.That(projects, Is.SupersetOf(Packable));
        foreach (var path in projects)
        {
            var project = XDocument.Load(Path.Combine(Root, path));
            bool packable = Property(project, "IsPackable") == "true";
            Assert.That(packable, Is.EqualTo(Packable.Contains(path)), $"{path}: IsPackable");
            if (!packable) continue;
            Assert.That(Property(project, "Description"), Has.Length.GreaterThan(60), $"{path}: a description of its own");
            Assert.That(Property(project, "Version") ?? Property(project, "VersionPrefix"), Is.Null, $"{path}: the version comes from Directory.Build.props only");
        }
    }

    [Test]
    public void TheTensoriumPackageBringsEveryLibrary()
    {
        var package = XDocument.Load(Path.Combine(Root, "Package/Package.csproj"));
        Assert.That(Property(package, "PackageId"), Is.EqualTo("Tensorium"));
        Assert.That(Property(package, "IncludeBuildOutput"), Is.EqualTo("false"), "it holds no code of its own");
        // Follow the project references from the package: every library must be reached.
        var reached = new HashSet<string>();
        var pending = new Stack<string>(["Package/Package.csproj"]);
        while (pending.Count > 0)
        {
            var path = pending.Pop();
            if (!reached.Add(path)) continue;
            var project = XDocument.Load(Path.Combine(Root, path));
            foreach (var reference in project.Descendants("ProjectReference"))
            {
                var target = Path.GetFullPath(Path.Combine(Root, Path.GetDirectoryName(path)!, ((string)reference.Attribute("Include")!).Replace('\\', '/')));
                pending.Push(Path.GetRelativePath(Root, target).Replace('\\', '/'));
            }
        }
        Assert.That(reached, Is.EquivalentTo(Packable), "the package's dependencies are the four libraries, all packable");
    }
}
