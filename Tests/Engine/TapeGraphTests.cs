using System.Globalization;
using System.Text.RegularExpressions;

namespace Tensorium.Tests.Engine;

/// <summary>The tape drawn as Graphviz DOT: nodes, forward edges, and the gradient flow after backward.</summary>
public class TapeGraphTests
{
    /// <summary>A parsed DOT graph: node name to attribute text, and edges with their attribute text.</summary>
    private sealed record Graph(Dictionary<string, string> Nodes, List<(string From, string To, string Attributes)> Edges)
    {
        public static Graph Parse(string dot)
        {
            var lines = dot.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            Assert.That(lines[0], Is.EqualTo("digraph tape {"));
            Assert.That(lines[^1], Is.EqualTo("}"));
            var nodes = new Dictionary<string, string>();
            var edges = new List<(string, string, string)>();
            foreach (var line in lines[1..^1])
            {
                if (Regex.Match(line, @"^(\w+) -> (\w+)(?: \[(.*)\])?;$") is { Success: true } edge)
                    edges.Add((edge.Groups[1].Value, edge.Groups[2].Value, edge.Groups[3].Value));
                else if (Regex.Match(line, @"^(\w+) \[(.*)\];$") is { Success: true } node)
                {
                    // "node [...]" and "edge [...]" set defaults; they are not nodes.
                    if (node.Groups[1].Value is not ("node" or "edge")) nodes.Add(node.Groups[1].Value, node.Groups[2].Value);
                }
                else Assert.That(line, Is.EqualTo("rankdir=TB;"), "every other line is a node, an edge or the layout direction");
            }
            foreach (var (from, to, _) in edges)
                Assert.That(nodes.Keys, Does.Contain(from).And.Contain(to), $"edge {from} -> {to} joins declared nodes");
            return new Graph(nodes, edges);
        }

        public IEnumerable<(string From, string To)> Forward => Edges.Where(e => !e.Attributes.Contains("class=\"grad\"")).Select(e => (e.From, e.To));
        public IEnumerable<(string From, string To)> Gradient => Edges.Where(e => e.Attributes.Contains("class=\"grad\"")).Select(e => (e.From, e.To));
        public string NodeLabelled(string text) => Nodes.Single(n => n.Value.Contains(text)).Key;
    }

    [Test]
    public void ForwardGraphThenGradientFlow()
    {
        using var scope = new TensorScope();
        var x = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var w = Tensor.FromArray(new float[] { 0.5f, -1, 2 }, 3, 1);
        var b = Tensor.FromArray(new float[] { 0.25f });
        x.Name = "x"; w.Name = "w"; b.Name = "b";
        w.RequiresGrad = b.RequiresGrad = true;
        var loss = (x.MatMul(w) + b).Square().Mean();
        var entries = Tape.EntriesFor(loss);
        Assert.That(entries.Select(e => e.Op), Is.EqualTo(new[] { "matmul", "add", "pow", "mean" }));
        string matmul = $"op{entries[0].Id}", add = $"op{entries[1].Id}", pow = $"op{entries[2].Id}", mean = $"op{entries[3].Id}";

        var before = Graph.Parse(TapeGraph.ToDot(loss));
        Assert.That(before.Nodes.Keys, Is.EquivalentTo(new[] { "leaf1", "leaf2", "leaf3", matmul, add, pow, mean }), "one node per op and per leaf, no seed yet");
        Assert.That(before.Nodes["leaf1"], Does.Contain(@"label=""x\n[2, 3] float32""").And.Contain("#e6e6e6"), "a constant: grey");
        Assert.That(before.Nodes["leaf2"], Does.Contain(@"label=""w\n[3, 1] float32""").And.Contain("#fff2b3"), "a parameter: yellow");
        Assert.That(before.Nodes[matmul], Does.Contain($@"label=""#{entries[0].Id} matmul\n[2, 1]"""));
        Assert.That(before.Nodes[mean], Does.Contain("peripheries=2"), "the root is outlined twice");
        Assert.That(before.Nodes[add], Does.Not.Contain("peripheries"));
        Assert.That(before.Forward, Is.EquivalentTo(new[] { ("leaf1", matmul), ("leaf2", matmul), (matmul, add), ("leaf3", add), (add, pow), (pow, mean) }));
        Assert.That(before.Gradient, Is.Empty, "no gradient has flowed yet");

        loss.Backward();
        var after = Graph.Parse(TapeGraph.ToDot(loss));
        Assert.That(after.Nodes.Keys, Does.Contain("seed"));
        Assert.That(after.Forward, Is.EquivalentTo(before.Forward), "the forward graph is unchanged");
        // Every gradient runs against a forward edge, except into x, which needs none.
        Assert.That(after.Gradient, Is.EquivalentTo(new[] { ("seed", mean), (mean, pow), (pow, add), (add, matmul), (add, "leaf3"), (matmul, "leaf2") }));
        Assert.That(after.Edges.Where(e => e.Attributes.Contains("class=\"grad\"")).Select(e => e.Attributes), Has.All.Contain("style=dashed"));
        string bGrad = b.Grad!.Item().ToString("G4", CultureInfo.InvariantCulture);
        Assert.That(after.Nodes["leaf3"], Does.Contain($@"b\n[1] float32\ngrad [1] = {bGrad}"), "a small gradient shows its values");
        Assert.That(after.Nodes["leaf2"], Does.Contain(@"grad [3, 1] = "));
        Assert.That(after.Nodes["leaf1"], Does.Not.Contain("grad"));
    }

    [Test]
    public void ATensorUsedTwiceHasAnEdgePerUse()
    {
        using var scope = new TensorScope();
        var w = Tensor.FromArray(new double[] { 3 });
        w.RequiresGrad = true;
        w.Name = "quote\"d \\ name";
        var y = (w * w).Sum();
        y.Backward();
        var graph = Graph.Parse(TapeGraph.ToDot(y));
        var mul = graph.NodeLabelled(" mul");
        Assert.That(graph.Forward.Count(e => e == ("leaf1", mul)), Is.EqualTo(2));
        Assert.That(graph.Gradient.Count(e => e == (mul, "leaf1")), Is.EqualTo(2), "both uses send a gradient; they add up in .Grad");
        Assert.That(graph.Nodes["leaf1"], Does.Contain(@"label=""quote\""d \\ name\n[1] float64\ngrad [1] = 6"""), "names are escaped");
    }

    [Test]
    public void ALeafWhoseHandleWasDisposedIsStillDrawn()
    {
        // Layers dispose their temporaries (Flatten's view of the input); the tape keeps the graph.
        using var scope = new TensorScope();
        var w = Tensor.Ones([3]);
        w.RequiresGrad = true;
        var x = Tensor.Ones([6]);
        var view = x.Reshape(2, 3);
        var y = (view * w).Sum();
        view.Dispose();
        var graph = Graph.Parse(TapeGraph.ToDot(y));
        Assert.That(graph.Nodes.Values, Has.Some.Contains(@"label=""constant\n[2, 3]"""), "the disposed input keeps its shape, loses its dtype");
    }

    [Test]
    public void AnUnrecordedTensorIsAClearError()
    {
        using var x = Tensor.Ones([2, 2]);
        using var y = x.Sum();
        var e = Assert.Throws<InvalidOperationException>(() => TapeGraph.ToDot(y));
        Assert.That(e!.Message, Does.StartWith("tape_graph:").And.Contain("shape []").And.Contain("no recorded op"));
    }

    [Test]
    public void SvgWhenGraphvizIsInstalledElseAMessage()
    {
        using var scope = new TensorScope();
        var w = Tensor.Ones([2]);
        w.RequiresGrad = true;
        var loss = w.Exp().Sum();
        loss.Backward();
        var folder = Directory.CreateTempSubdirectory("tensorium-graph-");
        try
        {
            var svg = Path.Combine(folder.FullName, "tape.svg");
            bool written = TapeGraph.TryWriteSvg(TapeGraph.ToDot(loss), svg, out var problem);
            if (GraphvizInstalled())
            {
                Assert.That(written, Is.True, problem);
                Assert.That(problem, Is.Null);
                var text = File.ReadAllText(svg);
                Assert.That(text, Does.Contain("<svg").And.Contain("exp").And.Contain("dL/dL = 1"));
            }
            else
            {
                Assert.That(written, Is.False);
                Assert.That(problem, Does.Contain("'dot' is not installed").And.Contain("apt-get install graphviz"));
                Assert.That(File.Exists(svg), Is.False);
            }
            Assert.That(TapeGraph.TryWriteSvg("digraph {", svg, out problem), Is.False, "a broken graph is refused");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static bool GraphvizInstalled() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, "dot")));
}
