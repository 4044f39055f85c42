using System.Text.RegularExpressions;

namespace Tensorium.Tests.Docs;

/// <summary>
/// docs/walkthrough.md cannot go stale: its C# blocks, in order, are one program that this test
/// compiles and runs; the tape it prints and the graph it draws must be the ones the page shows;
/// every excerpt of library code it quotes must still be in the file it names; and every link
/// in docs/ must lead to a file that exists.
/// </summary>
public class WalkthroughTests
{
    private static string Docs => Path.Combine(Snippets.RepositoryRoot(), "docs");
    private static string Walkthrough => Path.Combine(Docs, "walkthrough.md");

    [Test]
    public void TheWalkthroughRunsAndPrintsWhatThePageShows()
    {
        var program = string.Join("\n", Snippets.CSharpBlocks(Walkthrough).Select(b => b.Code));
        var folder = Directory.CreateTempSubdirectory("tensorium-walkthrough-");
        try
        {
            var output = Snippets.Run(program, "Walkthrough", folder.FullName);
            TestContext.Out.WriteLine(output);

            var shownTape = Shown("output: tape");
            var printed = output.Split('\n').Select(l => l.TrimEnd()).Where(l => Regex.IsMatch(l, @"^#\d+ ")).ToList();
            Assert.That(Renumber(string.Join("\n", printed)), Is.EqualTo(Renumber(shownTape.Trim())), "the tape the page shows is the one the code prints");

            foreach (var shown in Snippets.Blocks(Walkthrough, "text").Where(b => b.Marker == "<!-- output: line -->"))
                Assert.That(output, Does.Contain(shown.Code.Trim()), $"walkthrough.md line {shown.Line} shows a line the program prints");

            double before = double.Parse(Regex.Match(output, @"^loss (\S+)$", RegexOptions.Multiline).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            double after = double.Parse(Regex.Match(output, @"^loss after one step (\S+)$", RegexOptions.Multiline).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(before, Is.EqualTo(Math.Log(10)).Within(0.3), "an untrained model guesses about evenly among ten classes");
            Assert.That(after, Is.LessThan(before), "one SGD step on the batch lowers its loss");

            var drawn = File.ReadAllText(Path.Combine(folder.FullName, "mlp-step.dot"));
            var kept = File.ReadAllText(Path.Combine(Docs, "images", "mlp-step.dot"));
            Assert.That(Renumber(drawn), Is.EqualTo(Renumber(kept)), "docs/images/mlp-step.dot is the graph the code draws (regenerate it and its .svg with the walkthrough)");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Test]
    public void QuotedCodeIsStillInItsFile()
    {
        var excerpts = Directory.EnumerateFiles(Docs, "*.md", SearchOption.AllDirectories)
            .SelectMany(f => Snippets.Blocks(f, "csharp"))
            .Where(b => b.Marker?.StartsWith(Snippets.ExcerptMarker, StringComparison.Ordinal) == true)
            .ToList();
        Assert.That(excerpts, Has.Count.GreaterThanOrEqualTo(5), "the walkthrough quotes the backward rules");
        foreach (var excerpt in excerpts)
        {
            var path = excerpt.Marker![Snippets.ExcerptMarker.Length..].Replace("-->", "").Trim();
            var file = Path.Combine(Snippets.RepositoryRoot(), path);
            Assert.That(File.Exists(file), Is.True, $"{excerpt}: quotes '{path}', which does not exist");
            // Each quoted line appears in the file, in order ("..." marks a cut).
            var source = File.ReadAllLines(file).Select(l => l.Trim()).ToList();
            int at = 0;
            foreach (var line in excerpt.Code.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && l != "..." && l != "// ..."))
            {
                int found = source.FindIndex(at, l => l == line);
                Assert.That(found, Is.GreaterThanOrEqualTo(0), $"{excerpt}: '{line}' is no longer in {path} (after line {at})");
                at = found + 1;
            }
        }
    }

    [Test]
    public void LinksInDocsLeadToFiles()
    {
        var broken = new List<string>();
        foreach (var page in Directory.EnumerateFiles(Docs, "*.md", SearchOption.AllDirectories))
            foreach (Match link in Regex.Matches(File.ReadAllText(page), @"\]\(([^)#\s]+)(#[^)]*)?\)"))
            {
                var target = link.Groups[1].Value;
                if (target.StartsWith("http", StringComparison.Ordinal)) continue;
                var resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, target));
                if (!File.Exists(resolved) && !Directory.Exists(resolved)) broken.Add($"{Path.GetRelativePath(Docs, page)}: {target}");
            }
        Assert.That(broken, Is.Empty);
        Assert.That(Directory.EnumerateFiles(Path.Combine(Docs, "kernels"), "*.md").Count(), Is.GreaterThanOrEqualTo(5), "a page per kernel family");
    }

    /// <summary>The text block marked <c>&lt;!-- MARKER --&gt;</c> on the page.</summary>
    private static string Shown(string marker) =>
        Snippets.Blocks(Walkthrough, "text").Single(b => b.Marker == $"<!-- {marker} -->").Code;

    /// <summary>
    /// Entry numbers count every op recorded in the process (#1 in a fresh program, #5000 in a
    /// test run after others): renumber them 1, 2, ... in order of first appearance.
    /// </summary>
    private static string Renumber(string text)
    {
        var map = new Dictionary<string, int>();
        return Regex.Replace(text.Replace("\r", ""), @"(?<=#|\bop)\d+", m =>
        {
            if (!map.TryGetValue(m.Value, out int n)) map[m.Value] = n = map.Count + 1;
            return n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
    }
}
