namespace Tensorium.Kernels.Ops;

/// <summary>
/// erf and the normal distribution to full double precision. .NET has no Math.Erf, and GELU's
/// gradient check in float64 needs an erf accurate far beyond float (a 1e-7 approximation would
/// make finite differences disagree with the analytic derivative).
/// </summary>
public static class SpecialFunctions
{
    /// <summary>The error function.</summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double ax = Math.Abs(x);
        if (ax < 2.5)
        {
            // Maclaurin series: erf x = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)); fine below 2.5.
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 100 && Math.Abs(term) > 1e-17 * Math.Abs(sum); n++)
            {
                term *= -x2 / n;
                sum += term / (2 * n + 1);
            }
            return Math.CopySign(2 / Math.Sqrt(Math.PI) * sum, x);
        }
        return Math.CopySign(1 - Erfc(ax), x);
    }

    /// <summary>erfc for x &gt;= 2.5 by its continued fraction (modified Lentz), which converges fast there.</summary>
    private static double Erfc(double x)
    {
        if (x > 27) return 0;
        // erfc x = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
        const double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int k = 1; k < 300; k++)
        {
            double a = k * 0.5;
            d = x + a * d; d = Math.Abs(d) < tiny ? tiny : d; d = 1 / d;
            c = x + a / c; c = Math.Abs(c) < tiny ? tiny : c;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }

    /// <summary>Standard normal cumulative distribution Phi(x).</summary>
    public static double NormalCdf(double x) => 0.5 * (1 + Erf(x / Math.Sqrt(2)));

    /// <summary>
    /// Phi(x) to float precision (relative error below 1.1e-7, about one float ulp) at a fraction of
    /// the cost of <see cref="NormalCdf"/>, whose series takes up to a hundred terms. Float GELU uses
    /// this one; float64 keeps the exact one for gradient checks.
    /// </summary>
    public static double NormalCdfSingle(double x)
    {
        // Phi(x) = erfc(-x / sqrt 2) / 2, with erfc(z) for z >= 0 from the Chebyshev fit in Numerical
        // Recipes (erfcc), and erfc(-z) = 2 - erfc(z). A NaN x stays NaN through the exp.
        double z = Math.Abs(x) * 0.7071067811865476;
        double t = 1 / (1 + 0.5 * z);
        double tail = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
            + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1 - 0.5 * tail : 0.5 * tail;
    }

    /// <summary>Standard normal density phi(x).</summary>
    public static double NormalPdf(double x) => Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);
}
