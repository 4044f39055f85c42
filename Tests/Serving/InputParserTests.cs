using System.Globalization;
using System.Text;
using Tensorium.Serving;

namespace Tensorium.Tests.Serving;

/// <summary>
/// The predict body parser on its own (no server): the shapes it accepts, and the 400 it answers,
/// naming the position, for every other body (issue 14). The tiny card reads [1, 4, 4] in [0, 1].
/// </summary>
public class InputParserTests
{
    private static ParsedInputs Parse(string body, int maxExamples = 4) =>
        InputParser.Parse(Encoding.UTF8.GetBytes(body), TinyModels.ClassifierCard(), maxExamples);

    private static string Refused(string body)
    {
        var e = Assert.Throws<ProblemException>(() => Parse(body))!;
        Assert.That(e.Status, Is.EqualTo(400));
        Assert.That(e.Detail, Does.StartWith("POST /v1/models/tiny/predict: "));
        return e.Detail;
    }

    private static string Values(int count, string value = "0.5") => string.Join(",", Enumerable.Repeat(value, count));

    private static string Rows(params string[] rows) => string.Join(",", rows.Select(r => $"[{r}]"));

    [Test]
    public void OneExampleFlatNestedOrWithItsLeadingOne()
    {
        float[] image = TinyModels.Image(3);
        string[] rows = [.. image.Chunk(4).Select(r => string.Join(",", r.Select(v => v.ToString("R", CultureInfo.InvariantCulture))))];
        foreach (string inputs in new[] { string.Join(",", rows), Rows(rows), $"[{Rows(rows)}]" })
        {
            var parsed = Parse($"{{\"inputs\": [{inputs}]}}");
            Assert.That(parsed.Values, Is.EqualTo(image), inputs);
            Assert.That((parsed.Count, parsed.Batched), Is.EqualTo((1, false)));
        }
    }

    [Test]
    public void ABatchAndOtherPropertiesAroundTheInputs()
    {
        var parsed = Parse($"{{\"model\": \"x\", \"options\": {{\"a\": [1, [2]]}}, \"inputs\": [[{Values(16, "0")}], [{Values(16, "1")}], [{Values(16, "0.25")}]], \"after\": null}}");
        Assert.That((parsed.Count, parsed.Batched), Is.EqualTo((3, true)));
        Assert.That(parsed.Values, Is.EqualTo(Enumerable.Repeat(0f, 16).Concat(Enumerable.Repeat(1f, 16)).Concat(Enumerable.Repeat(0.25f, 16))));
    }

    [Test]
    public void ALeadingByteOrderMarkIsSkipped()
    {
        byte[] bom = [0xEF, 0xBB, 0xBF];
        foreach (string body in new[] { $"{{\"inputs\": [{Values(16)}]}}", $"{{\"inputs\": [[{Values(16)}], [{Values(16, "1")}]]}}" })
        {
            var parsed = InputParser.Parse([.. bom, .. Encoding.UTF8.GetBytes(body)], TinyModels.ClassifierCard(), 4);
            Assert.That(parsed.Values, Is.EqualTo(Parse(body).Values), body);
        }
        // Only one mark, and only at the start: anything else is still not JSON.
        Assert.Throws<ProblemException>(() => InputParser.Parse([.. bom, .. bom, .. Encoding.UTF8.GetBytes("{\"inputs\": [0]}")], TinyModels.ClassifierCard(), 4));
    }

    [Test]
    public void NumbersInEveryJsonSpelling()
    {
        string[] texts = ["0", "-0", "1", "0.5", "5e-1", "5E-1", "0.05e+1", "1e0", "0.1234567890123456789", "0.000000000000000000000000000001", "1e-45"];
        var parsed = Parse($"{{\"inputs\": [{string.Join(",", texts)}, {Values(16 - texts.Length)}]}}");
        for (int i = 0; i < texts.Length; i++)
            Assert.That(parsed.Values[i], Is.EqualTo((float)double.Parse(texts[i], CultureInfo.InvariantCulture)), texts[i]);
    }

    [Test]
    public void AFlatExampleWithAnyJsonWhitespace()
    {
        string[] values = [.. TinyModels.Image(5).Select(v => v.ToString("R", CultureInfo.InvariantCulture))];
        var parsed = Parse($" \r\n{{ \"inputs\"\t:\n[ {string.Join(" ,\n", values)} ] }}\n");
        Assert.That(parsed.Values, Is.EqualTo(TinyModels.Image(5)));
    }

    [TestCase("01")]
    [TestCase("1.")]
    [TestCase(".5")]
    [TestCase("-")]
    [TestCase("1e")]
    [TestCase("+1")]
    [TestCase("0.5 0.5")]
    [TestCase("1.5.3")]
    [TestCase("2x")]
    [TestCase("0.5e")]
    public void InvalidNumbersInAFlatExampleAreNotJson(string number) =>
        Assert.That(Refused($"{{\"inputs\": [{Values(15)}, {number}]}}"), Does.Contain("not valid JSON"));

    [Test]
    public void NotJson()
    {
        Assert.That(Refused(""), Does.Contain("not valid JSON"));
        Assert.That(Refused($"{{\"inputs\": [{Values(15)}, NaN]}}"), Does.Contain("not valid JSON").And.Contain("{\"inputs\": [...]}"));
        Assert.That(Refused($"{{\"inputs\": [{Values(16)}]}} trailing"), Does.Contain("not valid JSON"));
        Assert.That(Refused($"{{\"inputs\": [{Values(16)}]"), Does.Contain("not valid JSON"));
    }

    [Test]
    public void NotAnObjectWithInputs()
    {
        Assert.That(Refused($"[{Values(16)}]"), Does.Contain("got an array"));
        Assert.That(Refused("{\"input\": [1]}"), Does.Contain("got an object without \"inputs\""));
        Assert.That(Refused("{\"inputs\": {\"x\": 1}}"), Does.Contain("\"inputs\" is an object; expected an array"));
        Assert.That(Refused("{\"inputs\": 0.5}"), Does.Contain("\"inputs\" is the number 0.5; expected an array"));
    }

    [Test]
    public void NaNAndInfinityAsStringsAndFloat32Overflow()
    {
        Assert.That(Refused($"{{\"inputs\": [{Values(3)}, \"Infinity\", {Values(12)}]}}"), Does.Contain("inputs[3] is the string \"Infinity\"; expected a number (NaN and Infinity are not allowed)"));
        Assert.That(Refused($"{{\"inputs\": [{Values(15)}, -1e39]}}"), Does.Contain("inputs[15] is -1e39, which is not a finite float32"));
        Assert.That(Refused($"{{\"inputs\": [{Values(15)}, 1e400]}}"), Does.Contain("inputs[15] is 1e400, which is not a finite float32"));
    }

    [Test]
    public void NonNumbersNameTheirPosition()
    {
        Assert.That(Refused($"{{\"inputs\": [[{Values(4)}], [{Values(2)}, null, {Values(1)}], [{Values(4)}], [{Values(4)}]]}}"), Does.Contain("inputs[1][2] is null; expected a number"));
        Assert.That(Refused($"{{\"inputs\": [{Values(5)}, {{\"v\": 1}}, {Values(10)}]}}"), Does.Contain("inputs[5] is an object; expected a number"));
        Assert.That(Refused($"{{\"inputs\": [\"{new string('x', 60)}\"]}}"), Does.Contain("inputs[0] is the string \"xxx").And.Contain("..."));
    }

    [Test]
    public void RaggedOrUnevenlyNestedArrays()
    {
        Assert.That(Refused($"{{\"inputs\": [{Rows(Values(4), Values(5), Values(4), Values(4))}]}}"), Does.Contain("inputs[1] has 5 items; expected 4 like the first array at its depth"));
        Assert.That(Refused($"{{\"inputs\": [{Rows(Values(4), Values(4), Values(4), "")}]}}"), Does.Contain("inputs[3] has 0 items; expected 4"));
        Assert.That(Refused($"{{\"inputs\": [[{Values(4)}], 0.5, [{Values(4)}], [{Values(4)}]]}}"), Does.Contain("inputs[1] is the number 0.5; expected an array of 4 items like inputs[0]"));
        Assert.That(Refused($"{{\"inputs\": [[0.5, [0.5], 0.5, 0.5], [{Values(4)}]]}}"), Does.Contain("inputs[0][1] is an array; expected a number (the arrays are not all equally deep)"));
        Assert.That(Refused($"{{\"inputs\": [{Rows(Values(4), Values(4))}, [[1], [2]]]}}"), Does.Contain("inputs[2][0] is an array; expected a number"));
    }

    [Test]
    public void EmptyOrTooDeeplyNestedArrays()
    {
        Assert.That(Refused("{\"inputs\": []}"), Does.Contain("inputs is an empty array"));
        Assert.That(Refused("{\"inputs\": [[[]]]}"), Does.Contain("inputs[0][0] is an empty array"));
        Assert.That(Refused("{\"inputs\": [[[[[[0.5]]]]]]}"), Does.Contain("nested more than 5 deep"));
    }

    [Test]
    public void WrongShapesCountsAndRanges()
    {
        Assert.That(Refused($"{{\"inputs\": [{Values(15)}]}}"), Does.Contain("shape [15] (15 values)").And.Contain("[1, 4, 4] (or [4, 4], or 16 values)"));
        Assert.That(Refused($"{{\"inputs\": [{Rows(Values(8), Values(8))}]}}"), Does.Contain("shape [2, 8]"));
        Assert.That(Refused($"{{\"inputs\": [{string.Join(",", Enumerable.Repeat($"[{Values(16)}]", 5))}]}}"), Does.Contain("a batch of 5 examples; expected at most 4"));
        Assert.That(Refused($"{{\"inputs\": [{Values(7)}, 2, {Values(8)}]}}"), Does.Contain("value 7 is 2; expected values in [0, 1]"));
    }

    [Test]
    public void APropertyNameWithALoneSurrogateEscapeIsRefusedByName() =>
        // The reader accepts the name, then threw an InvalidOperationException comparing it with "inputs": a 500.
        Assert.That(Refused($"{{\"\\ud800\": 1, \"inputs\": [{Values(16)}]}}"), Does.Contain("a property name is not valid Unicode text"));

    [Test]
    public void AHugeNumberIsQuotedShort()
    {
        // A number of 100,000 digits is valid JSON; the error echoed all of it, as it does not a string's.
        string detail = Refused($"{{\"inputs\": [1{new string('0', 100_000)}]}}");
        Assert.That(detail, Does.Contain("inputs[0] is 1000").And.Contain("...").And.Contain("not a finite float32"));
        Assert.That(detail, Has.Length.LessThan(500));
        Assert.That(Refused($"{{\"inputs\": [[{Values(16)}], 1{new string('0', 100_000)}]}}"), Has.Length.LessThan(500));
    }
}
