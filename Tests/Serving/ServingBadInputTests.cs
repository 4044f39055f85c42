using Tensorium.Models;
using Tensorium.Serving;
using Tensorium.Tests.Data;

namespace Tensorium.Tests.Serving;

/// <summary>Bad input is never a 500: each gets an RFC 7807 problem naming what was expected (issue 14).</summary>
[NonParallelizable]
public class ServingBadInputTests
{
    private DataTempFolder _folder = null!;
    private ServingServer _server = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _folder = new DataTempFolder();
        TinyModels.SaveClassifier(_folder.Path);
        _server = await ServingServer.StartAsync(_folder.Path, new ServingOptions { MaxBodyBytes = 4096, MaxBatchSize = 4, MaxDelay = TimeSpan.Zero });
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _server.DisposeAsync();
        _folder.Dispose();
    }

    private async Task<string> Refused(string body, int status = 400) =>
        await ServingServer.ProblemAsync(await _server.PostAsync("/v1/models/tiny/predict", body), status);

    private static string Values(int count, string value = "0.5") => string.Join(",", Enumerable.Repeat(value, count));

    [Test]
    public async Task MalformedJson() =>
        Assert.That(await Refused("{\"inputs\": [0.1, 0.2"), Does.Contain("not valid JSON").And.Contain("{\"inputs\": [...]}"));

    [Test]
    public async Task AnEmptyBody() =>
        Assert.That(await Refused(""), Does.Contain("not valid JSON"));

    [Test]
    public async Task NoInputs() =>
        Assert.That(await Refused("{\"input\": [1]}"), Does.Contain("without \"inputs\"").And.Contain("[1, 4, 4]"));

    [Test]
    public async Task InputsThatAreNotAnArray() =>
        Assert.That(await Refused("{\"inputs\": \"pixels\"}"), Does.Contain("\"inputs\" is the string").And.Contain("expected an array"));

    [Test]
    public async Task AWrongShape() =>
        Assert.That(await Refused("{\"inputs\": [[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]]}"), Does.Contain("shape [2, 3]").And.Contain("[1, 4, 4] (or [4, 4], or 16 values)"));

    [Test]
    public async Task AWrongNumberOfValues() =>
        Assert.That(await Refused($"{{\"inputs\": [{Values(15)}]}}"), Does.Contain("15 values").And.Contain("16 values"));

    [Test]
    public async Task RaggedArrays() =>
        Assert.That(await Refused("{\"inputs\": [[0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3, 0.4]]}"),
            Does.Contain("inputs[2] has 3 items; expected 4"));

    [Test]
    public async Task ANonNumber() =>
        Assert.That(await Refused($"{{\"inputs\": [{Values(5)}, true, {Values(10)}]}}"), Does.Contain("inputs[5] is the boolean true; expected a number"));

    [Test]
    public async Task NaNAsAString() =>
        Assert.That(await Refused($"{{\"inputs\": [{Values(3)}, \"NaN\", {Values(12)}]}}"), Does.Contain("inputs[3]").And.Contain("NaN and Infinity are not allowed"));

    [Test]
    public async Task AnInfiniteFloat32() =>
        Assert.That(await Refused($"{{\"inputs\": [{Values(15)}, 1e39]}}"), Does.Contain("inputs[15] is 1e39, which is not a finite float32"));

    [Test]
    public async Task AValueOutOfTheCardsRange() =>
        Assert.That(await Refused($"{{\"inputs\": [[{Values(16)}], [{Values(7)}, 255, {Values(8)}]]}}"), Does.Contain("example 1, value 7 is 255; expected values in [0, 1]"));

    [Test]
    public async Task MoreExamplesThanABatchHolds() =>
        Assert.That(await Refused($"{{\"inputs\": [{string.Join(",", Enumerable.Repeat($"[{Values(16)}]", 5))}]}}"), Does.Contain("5 examples").And.Contain("at most 4"));

    [Test]
    public async Task AnUnknownModel()
    {
        string detail = await ServingServer.ProblemAsync(await _server.PostAsync("/v1/models/nope/predict", $"{{\"inputs\": [{Values(16)}]}}"), 404);
        Assert.That(detail, Does.StartWith("POST /v1/models/nope/predict: ").And.Contain("'nope'").And.Contain("tiny"));
    }

    [Test]
    public async Task ABodyOverTheSizeLimit()
    {
        // 4 KiB limit: a body of about 10 KB of numbers, valid JSON, is refused before parsing.
        string detail = await Refused($"{{\"inputs\": [{Values(2000, "0.12345")}]}}", 413);
        Assert.That(detail, Does.Contain("4096 bytes"));
    }

    [Test]
    public async Task AnUnknownRouteIsAProblemToo() =>
        await ServingServer.ProblemAsync(await _server.Client.GetAsync("/v2/everything"), 404);

    [Test]
    public async Task TheServerStillAnswersAfterwards()
    {
        await Refused("{");
        var json = await ServingServer.JsonAsync(await _server.PredictAsync("tiny", TinyModels.Image(1)));
        Assert.That(json.GetProperty("predictions").GetArrayLength(), Is.EqualTo(3));
    }

    [Test]
    public async Task InputsThatOverflowAModelWithoutARange()
    {
        // A card with no range accepts any finite float32; 3e38 overflows the MLP's outputs to
        // infinity, which the JSON writer refused with an exception: a bare 500.
        using var folder = new DataTempFolder();
        using (var model = TinyModels.Classifier())
            ModelFiles.Save(folder.Path, TinyModels.ClassifierCard("reg") with { Kind = ModelKind.Regression, Labels = null, Input = new InputSpec { Shape = [16] } }, model);
        await using var server = await ServingServer.StartAsync(folder.Path, new ServingOptions { MaxDelay = TimeSpan.Zero });
        string detail = await ServingServer.ProblemAsync(await server.PostAsync("/v1/models/reg/predict", $"{{\"inputs\": [{Values(16, "3e38")}]}}"), 422);
        Assert.That(detail, Does.StartWith("POST /v1/models/reg/predict: the model's output ").And.Contain("as large as 3E+38").And.Contain("expected inputs on the scale"));
        await ServingServer.JsonAsync(await server.PostAsync("/v1/models/reg/predict", $"{{\"inputs\": [{Values(16)}]}}"));
    }
}
