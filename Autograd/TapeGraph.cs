using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Tensorium;

/// <summary>
/// Draws the tape behind a tensor as a Graphviz graph: the picture of what
/// <see cref="Tape.Format"/> prints. Forward, each recorded op is an ellipse ("#3 matmul" and its
/// output shape) with solid arrows from its inputs; leaf tensors are boxes (yellow when they
/// require a gradient, grey when they are constants). After <see cref="Tape.Backward"/>, dashed
/// red arrows run the other way, from each op to every input it sent a gradient to, starting at a
/// "1" seed on the root; leaves show the shape (and, when small, the values) of their <c>.Grad</c>.
/// </summary>
public static class TapeGraph
{
    /// <summary>How long <see cref="TryWriteSvg"/> waits for Graphviz.</summary>
    private static readonly TimeSpan DotTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The graph behind <paramref name="root"/> in the DOT language. Nodes: <c>opN</c> for tape
    /// entry #N, <c>leafK</c> for the K-th leaf met (oldest entries first), <c>seed</c> for the
    /// gradient of the root once backward has run. Forward edges are solid; gradient edges are
    /// dashed and carry <c>class="grad"</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException"><paramref name="root"/> was not recorded: there is nothing to draw.</exception>
    public static string ToDot(Tensor root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var entries = Tape.EntriesFor(root);
        if (entries.Count == 0)
            throw new InvalidOperationException($"tape_graph: the tensor of shape {Layout.Format(root.Layout.Shape)} has no recorded op behind it (no input requires a gradient, or it was computed under NoGrad); expected the output of a recorded computation.");

        var dot = new StringBuilder();
        dot.AppendLine("digraph tape {");
        dot.AppendLine("  rankdir=TB;");
        dot.AppendLine("  node [fontname=\"Helvetica\", fontsize=11];");
        dot.AppendLine("  edge [fontname=\"Helvetica\", fontsize=9];");

        var leaves = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
        string NodeOf(Tensor t)
        {
            if (t.Producer is TapeEntry producer) return $"op{producer.Id}";
            if (leaves.TryGetValue(t, out var id)) return id;
            id = $"leaf{leaves.Count + 1}";
            leaves.Add(t, id);
            dot.AppendLine($"  {id} [shape=box, style=filled, fillcolor=\"{(t.RequiresGrad ? "#fff2b3" : "#e6e6e6")}\", label=\"{Escape(LeafLabel(t))}\"];");
            return id;
        }

        var gradientEdges = new StringBuilder();
        foreach (var entry in entries)
        {
            var inputs = entry.Inputs.Select(NodeOf).ToList();   // leaves first, so each is declared before use
            string peripheries = entry.Output == root ? ", peripheries=2" : "";
            dot.AppendLine($"  op{entry.Id} [shape=ellipse, style=filled, fillcolor=\"#cfe2ff\"{peripheries}, label=\"{Escape($"#{entry.Id} {entry.Op}\n{Layout.Format(entry.Output.Layout.Shape)}")}\"];");
            for (int k = 0; k < inputs.Count; k++)
            {
                dot.AppendLine($"  {inputs[k]} -> op{entry.Id};");
                // constraint=false: the forward edges alone decide the layout, the gradient edges follow it back.
                if (entry.GradientsSent[k])
                    gradientEdges.AppendLine($"  op{entry.Id} -> {inputs[k]} [class=\"grad\", style=dashed, color=\"#c0392b\", fontcolor=\"#c0392b\", constraint=false, label=\"grad\"];");
            }
        }
        if (root.Producer is TapeEntry last && last.GradientsSent.Any(sent => sent))
        {
            dot.AppendLine("  seed [shape=plaintext, fontcolor=\"#c0392b\", label=\"dL/dL = 1\"];");
            gradientEdges.Insert(0, $"  seed -> op{last.Id} [class=\"grad\", style=dashed, color=\"#c0392b\"];{Environment.NewLine}");
        }
        dot.Append(gradientEdges);
        dot.AppendLine("}");
        return dot.ToString();
    }

    /// <summary>
    /// Renders <paramref name="dot"/> to an SVG file at <paramref name="svgPath"/> with Graphviz's
    /// <c>dot</c> program. False, with the reason in <paramref name="problem"/>, when Graphviz is not
    /// installed (Debian: <c>apt-get install graphviz</c>) or fails; DOT files open in any Graphviz viewer too.
    /// </summary>
    public static bool TryWriteSvg(string dot, string svgPath, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(dot);
        ArgumentNullException.ThrowIfNull(svgPath);
        var start = new ProcessStartInfo("dot")
        {
            ArgumentList = { "-Tsvg", "-o", svgPath },
            RedirectStandardInput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception("no process was started");
        }
        catch (Win32Exception)
        {
            problem = "Graphviz's 'dot' is not installed (Debian: apt-get install graphviz); no SVG was written.";
            return false;
        }
        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync();   // read while writing: a full pipe would stall dot
            process.StandardInput.Write(dot);
            process.StandardInput.Close();
            if (!process.WaitForExit(DotTimeout))
            {
                process.Kill();
                problem = $"Graphviz's 'dot' did not finish within {DotTimeout.TotalSeconds} s; no SVG was written.";
                return false;
            }
            if (process.ExitCode != 0)
            {
                problem = $"Graphviz's 'dot' failed with exit code {process.ExitCode} writing '{svgPath}': {errors.Result.Trim()}";
                return false;
            }
        }
        problem = null;
        return true;
    }

    /// <summary>"w [1, 1] float32", plus its gradient once backward has filled it.</summary>
    private static string LeafLabel(Tensor t)
    {
        // A layer may have disposed its handle on a temporary input (the tape keeps the graph, not
        // the memory): its shape is still known, its dtype went with its storage.
        var dtype = t.IsDisposed ? "" : " " + t.DType.Name();
        var label = $"{t.Name ?? (t.RequiresGrad ? "parameter" : "constant")}\n{Layout.Format(t.Layout.Shape)}{dtype}";
        if (t.Grad is not { IsDisposed: false } grad) return label;
        label += $"\ngrad {Layout.Format(grad.Layout.Shape)}";
        // A few numbers teach more than a shape; a big gradient would only clutter the picture.
        if (grad.Count <= 4)
            label += " = " + string.Join(", ", grad.ToDoubleArray().Select(v => v.ToString("G4", CultureInfo.InvariantCulture)));
        return label;
    }

    /// <summary>A DOT string literal's contents: quotes and backslashes escaped, line breaks as \n.</summary>
    private static string Escape(string text) =>
        text.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\r", "").Replace("\n", "\\n");
}
