using System.Text.Json;
using Tensorium.Serving;
using Tensorium.Tests.Data;

namespace Tensorium.Tests.Serving;

/// <summary>
/// The web page in a real headless browser (Debian's chromium, which ./build.sh test installs
/// when apt is available): it loads, lists the models, and a drawing made with real mouse input
/// gets predictions drawn as bars (issue 14). Skipped with a message when no Chromium is installed.
/// </summary>
[NonParallelizable]
public class WebPageBrowserTests
{
    [Test]
    public async Task ADrawnImageGetsPredictionsAsBars()
    {
        string? chromium = HeadlessChromium.Find();
        if (chromium == null)
            Assert.Ignore("no Chromium installed (apt-get install chromium, or set CHROMIUM=/path/to/chrome): the browser test of the web page is skipped");
        using var folder = new DataTempFolder();
        TinyModels.SaveClassifier(folder.Path);
        TinyModels.SaveLanguageModel(folder.Path);
        await using var server = await ServingServer.StartAsync(folder.Path, new ServingOptions { MaxDelay = TimeSpan.FromMilliseconds(1) });
        await using var browser = await HeadlessChromium.StartAsync(chromium);

        await browser.SendAsync("Page.enable");
        await browser.SendAsync("Page.navigate", new() { ["url"] = new Uri(server.Client.BaseAddress!, "/").ToString() });
        await browser.WaitForAsync("document.body && document.body.dataset.ready === 'true'", "the page loaded the model list");
        var models = await browser.EvaluateAsync("[...document.getElementById('classifier').options].map(o => o.value)");
        Assert.That(models.EnumerateArray().Select(m => m.GetString()), Is.EqualTo(new[] { "tiny" }));

        // A stroke across the pad with the mouse, as a person would draw it.
        var box = await browser.EvaluateAsync("(() => { const r = document.getElementById('pad').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()");
        double left = box[0].GetDouble(), top = box[1].GetDouble(), width = box[2].GetDouble(), height = box[3].GetDouble();
        await browser.MouseAsync("mousePressed", left + width * 0.2, top + height * 0.2);
        for (int step = 1; step <= 10; step++)
            await browser.MouseAsync("mouseMoved", left + width * (0.2 + 0.06 * step), top + height * (0.2 + 0.05 * step));
        await browser.MouseAsync("mouseReleased", left + width * 0.8, top + height * 0.7);

        await browser.WaitForAsync("document.querySelectorAll('#predictions .bar').length === 3", "the predictions are drawn");
        var labels = await browser.EvaluateAsync("[...document.querySelectorAll('#predictions .bar')].map(b => b.dataset.label)");
        Assert.That(labels.EnumerateArray().Select(l => l.GetString()), Is.EquivalentTo(TinyModels.Labels));
        var percents = await browser.EvaluateAsync("[...document.querySelectorAll('#predictions .value')].map(v => parseFloat(v.textContent))");
        Assert.That(percents.EnumerateArray().Sum(p => p.GetDouble()), Is.EqualTo(100).Within(0.5));
        Assert.That((await browser.EvaluateAsync("document.getElementById('error').textContent")).GetString(), Is.Empty);
        // The drawing reached the server: the ink made some pixels non-zero.
        var ink = await browser.EvaluateAsync("pixels(cards['tiny']).filter(v => v > 0).length");
        Assert.That(ink.GetInt32(), Is.GreaterThan(0));
        Assert.That(await server.MetricAsync("tensorium_requests_total{endpoint=\"/v1/models/{name}/predict\",model=\"tiny\",status=\"200\"}"), Is.GreaterThanOrEqualTo(1));

        // The prompt box streams the language model's text into the page.
        await browser.EvaluateAsync("(() => { document.getElementById('prompt').value = 'abc'; document.getElementById('max-tokens').value = '12'; document.getElementById('generate').click(); })()");
        await browser.WaitForAsync("document.getElementById('generated').textContent.length === 15", "the generated text streamed in");
    }
}
