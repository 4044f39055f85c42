namespace Tensorium.Serving;

/// <summary>
/// A fast path for the JSON numbers a predict body is made of (pixel values such as
/// <c>0.003921569</c>): exact, and several times quicker than the general parser, which the
/// caller falls back to for anything else.
/// </summary>
/// <remarks>
/// Clinger's fast path: when the decimal digits form an integer m below 2^53 and the power of ten
/// e is within ±22, both m and 10^|e| are exact doubles, so the one multiplication or division
/// m × 10^e is rounded once, correctly, as IEEE arithmetic guarantees. The result is therefore
/// the double the general parser returns for the same text.
/// </remarks>
public static class JsonNumber
{
    private const ulong MaxExactMantissa = 1UL << 53;

    private static readonly double[] PowersOfTen =
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    /// <summary>
    /// Parses <paramref name="text"/> when it is a JSON number the fast path applies to; false
    /// (and 0) when it is not a JSON number at all (<c>01</c>, <c>1.</c>, <c>.5</c>, <c>1e</c>,
    /// <c>NaN</c>, ...) or needs the general parser.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out double value)
    {
        if (TryParsePrefix(text, out value, out int length) && length == text.Length) return true;
        value = 0;
        return false;
    }

    /// <summary>
    /// <see cref="TryParse"/> for the number <paramref name="text"/> starts with, which is
    /// <paramref name="length"/> bytes long: what follows it is the caller's to check (a comma,
    /// a bracket, whitespace), so numbers in a JSON array are read in one pass.
    /// </summary>
    public static bool TryParsePrefix(ReadOnlySpan<byte> text, out double value, out int length)
    {
        value = 0;
        length = 0;
        int i = 0;
        bool negative = i < text.Length && text[i] == '-';
        if (negative) i++;
        ulong mantissa = 0;
        int exponent = 0;   // the power of ten the mantissa is multiplied by
        int digits = i;
        for (; i < text.Length && IsDigit(text[i]); i++)
            if (!Accumulate(ref mantissa, text[i])) return false;
        // JSON: an integer part of one digit at least, and no leading zero before another digit.
        if (i == digits || (text[digits] == '0' && i - digits > 1)) return false;
        if (i < text.Length && text[i] == '.')
        {
            digits = ++i;
            for (; i < text.Length && IsDigit(text[i]); i++)
            {
                if (!Accumulate(ref mantissa, text[i])) return false;
                exponent--;
            }
            if (i == digits) return false;   // "1." is not JSON
        }
        if (i < text.Length && (text[i] == 'e' || text[i] == 'E'))
        {
            i++;
            bool negativeExponent = i < text.Length && text[i] == '-';
            if (i < text.Length && text[i] is (byte)'-' or (byte)'+') i++;
            digits = i;
            int written = 0;
            for (; i < text.Length && IsDigit(text[i]); i++)
            {
                written = written * 10 + (text[i] - '0');
                if (written > 1000) return false;   // far outside the fast path anyway
            }
            if (i == digits) return false;   // "1e" is not JSON
            exponent += negativeExponent ? -written : written;
        }
        length = i;
        if (mantissa == 0) value = 0;
        else if (exponent is < -22 or > 22) return false;
        else value = exponent < 0 ? mantissa / PowersOfTen[-exponent] : mantissa * PowersOfTen[exponent];
        if (negative) value = -value;
        return true;
    }

    private static bool IsDigit(byte c) => (uint)(c - '0') <= 9;

    /// <summary>mantissa = 10 × mantissa + digit; false when that would pass 2^53 (no longer exact).</summary>
    private static bool Accumulate(ref ulong mantissa, byte digit)
    {
        mantissa = mantissa * 10 + (ulong)(digit - '0');
        return mantissa <= MaxExactMantissa;
    }
}
