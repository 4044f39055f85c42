namespace Tensorium.Tests.Docs;

/// <summary>
/// Every C# block of the README compiles on its own, as the Program.cs of a new console app
/// that references the Tensorium package. A block that is a fragment of a larger program (the
/// GPU one uses the model and args around it) says so on the line before its fence, with
/// <c>&lt;!-- not compiled: why --&gt;</c>.
/// </summary>
public class ReadmeSnippetTests
{
    private static IEnumerable<TestCaseData> Blocks() =>
        Snippets.CSharpBlocks(Path.Combine(Snippets.RepositoryRoot(), "README.md"))
            .Select(s => new TestCaseData(s).SetArgDisplayNames(s.ToString()));

    [TestCaseSource(nameof(Blocks))]
    public void Compiles(Snippet snippet)
    {
        var (errors, _) = Snippets.Compile(snippet.Code, $"Readme{snippet.Line}");
        Assert.That(errors, Is.Empty, $"README.md line {snippet.Line}:\n{string.Join("\n", errors)}");
    }

    [Test]
    public void TheChecksSeeTheReadmeAndCatchAMistake()
    {
        var blocks = Snippets.CSharpBlocks(Path.Combine(Snippets.RepositoryRoot(), "README.md"));
        Assert.That(blocks, Has.Count.GreaterThanOrEqualTo(3), "the README's examples are found");
        Assert.That(blocks.Select(b => b.Code), Has.None.Contains("Device.Available()"), "the GPU fragment is left out");
        var (errors, _) = Snippets.Compile(blocks[0].Code.Replace("MatMul", "MatMultiply"), "Broken");
        Assert.That(errors, Has.Some.Contains("MatMultiply"), "a misspelt API is an error");
    }
}
