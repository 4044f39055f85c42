using System.Globalization;
using System.Xml.Linq;
using Tensorium.Data;
using Tensorium.Layers;
using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>History curves: every epoch a marked point, legends clear of the plot (issue 16).</summary>
[NonParallelizable]
public class HistoryTests
{
    private static History Fit(int epochs)
    {
        using var data = new TensorDataset(Tensor.Normal([24, 4], 0, 1, new Generator(1)),
            Tensor.FromArray(Enumerable.Range(0, 24).Select(i => (long)(i % 3)).ToArray()));
        using var model = new Linear(4, 3, generator: new Generator(2));
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0.1);
        var trainer = new Trainer(model, optimizer, new CrossEntropyLoss(), [new Accuracy()]) { Output = null };
        return trainer.Fit(data, epochs, batchSize: 8, validation: data, generator: new Generator(3));
    }

    private static XElement Svg(History history)
    {
        string path = Path.Combine(Path.GetTempPath(), $"tensorium-history-{Guid.NewGuid():N}.svg");
        try
        {
            history.WriteSvg(path, "a <quick> run");
            return XElement.Load(path);
        }
        finally { File.Delete(path); }
    }

    private static double Number(XElement e, string attribute) => double.Parse(e.Attribute(attribute)!.Value, CultureInfo.InvariantCulture);

    [Test]
    public void AOneEpochRunDrawsAMarkedPointPerColumnInsideItsPanel()
    {
        var svg = Svg(Fit(1));
        XNamespace ns = "http://www.w3.org/2000/svg";
        var panels = svg.Elements(ns + "rect").Where(r => r.Attribute("stroke") != null).ToList();
        Assert.That(panels, Has.Count.EqualTo(2));
        // loss, val_loss | accuracy, val_accuracy: one point each, plus one marker per legend entry.
        var circles = svg.Elements(ns + "circle").ToList();
        Assert.That(circles, Has.Count.EqualTo(4 + 4));
        var points = circles.Where(c => panels.Any(p => Inside(c, p))).ToList();
        Assert.That(points, Has.Count.EqualTo(4), "one point per column, inside a panel");
        foreach (var point in points)
        {
            var panel = panels.Single(p => Inside(point, p));
            Assert.That(Number(point, "cx"), Is.EqualTo(Number(panel, "x") + Number(panel, "width") / 2).Within(0.1), "a single epoch sits mid-panel");
        }
        Assert.That(svg.Elements(ns + "text").Any(t => t.Value == "a <quick> run"), "the title is escaped and kept");
    }

    [Test]
    public void LegendsSitBelowThePanelsAndEveryEpochIsMarked()
    {
        var svg = Svg(Fit(3));
        XNamespace ns = "http://www.w3.org/2000/svg";
        double panelBottom = svg.Elements(ns + "rect").Where(r => r.Attribute("stroke") != null)
            .Max(p => Number(p, "y") + Number(p, "height"));
        foreach (var name in new[] { "loss", "val_loss", "accuracy", "val_accuracy" })
        {
            var legend = svg.Elements(ns + "text").Single(t => t.Value == name);
            Assert.That(Number(legend, "y"), Is.GreaterThan(panelBottom + 20), $"the legend entry '{name}' is under the panels, clear of the curves and the epoch labels");
        }
        Assert.That(svg.Elements(ns + "circle").Count(), Is.EqualTo(4 * 3 + 4), "three marked epochs per column, plus the legend markers");
        Assert.That(Number(svg, "height"), Is.GreaterThan(svg.Elements(ns + "text").Max(t => Number(t, "y"))), "nothing is drawn below the image");
    }

    private static bool Inside(XElement circle, XElement panel) =>
        Number(circle, "cx") >= Number(panel, "x") && Number(circle, "cx") <= Number(panel, "x") + Number(panel, "width")
        && Number(circle, "cy") >= Number(panel, "y") && Number(circle, "cy") <= Number(panel, "y") + Number(panel, "height");
}
