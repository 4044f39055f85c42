using System.Globalization;
using System.Text;
using Tensorium.Serving;

namespace Tensorium.Tests.Serving;

/// <summary>The fast path for JSON numbers gives exactly the general parser's double, or declines.</summary>
public class JsonNumberTests
{
    private static double? Fast(string text) => JsonNumber.TryParse(Encoding.ASCII.GetBytes(text), out double v) ? v : null;

    [Test]
    public void RandomNumbersInManySpellingsMatchTheGeneralParser()
    {
        var random = new Random(14);
        int taken = 0;
        for (int i = 0; i < 20_000; i++)
        {
            double v = (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-30, 30));
            string text = (i % 4) switch
            {
                0 => ((float)v).ToString("R", CultureInfo.InvariantCulture),
                1 => v.ToString("R", CultureInfo.InvariantCulture),
                2 => v.ToString("E6", CultureInfo.InvariantCulture),
                _ => v.ToString("F" + random.Next(0, 12), CultureInfo.InvariantCulture),
            };
            if (Fast(text) is not double fast) continue;
            taken++;
            Assert.That(BitConverter.DoubleToInt64Bits(fast), Is.EqualTo(BitConverter.DoubleToInt64Bits(double.Parse(text, CultureInfo.InvariantCulture))), text);
        }
        Assert.That(taken, Is.GreaterThan(5_000), "the fast path should take most of these");
    }

    [TestCase("0.003921569", 0.003921569)]
    [TestCase("1", 1.0)]
    [TestCase("-2.5E+2", -250.0)]
    [TestCase("0e-400", 0.0)]
    [TestCase("9007199254740992", 9007199254740992.0)]
    public void PixelLikeNumbersTakeTheFastPath(string text, double expected) =>
        Assert.That(Fast(text), Is.EqualTo(expected));

    [TestCase("1e-30")]                    // 10^30 is not an exact double
    [TestCase("12345678901234567890")]     // more than 2^53
    [TestCase("9007199254740993")]         // 2^53 + 1: not exact
    [TestCase("1e400")]
    public void OthersAreLeftToTheGeneralParser(string text) =>
        Assert.That(Fast(text), Is.Null);

    [TestCase("01")]
    [TestCase("-01")]
    [TestCase("1.")]
    [TestCase(".5")]
    [TestCase("-")]
    [TestCase("")]
    [TestCase("1e")]
    [TestCase("1e+")]
    [TestCase("+1")]
    [TestCase("1.e5")]
    [TestCase("--1")]
    [TestCase("0x10")]
    [TestCase("1,")]
    public void WhatIsNotAJsonNumberIsNotTaken(string text) =>
        Assert.That(Fast(text), Is.Null);

    [TestCase("0.25,", 0.25, 4)]
    [TestCase("-1e2]", -100.0, 4)]
    [TestCase("7 ", 7.0, 1)]
    [TestCase("1.5.3", 1.5, 3)]
    public void APrefixIsReadUpToWhatFollowsTheNumber(string text, double expected, int length)
    {
        Assert.That(JsonNumber.TryParsePrefix(Encoding.ASCII.GetBytes(text), out double v, out int read), Is.True);
        Assert.That((v, read), Is.EqualTo((expected, length)));
    }
}
