using System.Diagnostics;

namespace Tensorium.Bench;

/// <summary>What <see cref="AlternatingRounds.Run"/> measured: medians and the rounds' own ratios.</summary>
/// <param name="OursSeconds">Tensorium's median seconds per call.</param>
/// <param name="ReferenceSeconds">The reference's median seconds per call.</param>
/// <param name="RoundRatio">The median of the rounds' ratios (reference time / Tensorium time).</param>
/// <param name="LowRatio">The low end of the middle rounds' ratios (sorted, at a quarter of the rounds: the 3rd of 11).</param>
/// <param name="HighRatio">The high end (at three quarters: the 9th of 11).</param>
public sealed record AlternatingResult(double OursSeconds, double ReferenceSeconds, double RoundRatio, double LowRatio, double HighRatio)
{
    /// <summary>Reference time over Tensorium time, of the medians: above 1, Tensorium is faster.</summary>
    public double Ratio => ReferenceSeconds / OursSeconds;
}

/// <summary>
/// Times Tensorium and a reference in alternating rounds in one run (<c>./build.sh bench
/// --alternating [steps]</c>): the shared loop of <see cref="AlternatingGemm"/> and <see cref="AlternatingSteps"/>.
/// </summary>
/// <remarks>
/// Why besides BenchmarkDotNet: BenchmarkDotNet times each side in its own process, one after the
/// other, and on a shared 2-core VM the machine's speed drifts by 10-25% from second to second
/// (a whole training step ran 30-50% apart between two runs minutes apart), so one such pair carries
/// that drift. Here every round times both sides back to back, alternating which goes first, and
/// the medians over many rounds cancel most of it; the rounds' own ratios show what is left.
/// </remarks>
public static class AlternatingRounds
{
    /// <summary>Rounds per case.</summary>
    public const int Rounds = 11;

    /// <summary>
    /// Runs <see cref="Rounds"/> rounds of <paramref name="ours"/> and <paramref name="reference"/>
    /// (each returns seconds per call), alternating which goes first; <paramref name="label"/> names the case in the progress line.
    /// </summary>
    public static AlternatingResult Run(string label, Func<double> ours, Func<double> reference)
    {
        var oursTimes = new List<double>();
        var referenceTimes = new List<double>();
        for (int round = 0; round < Rounds; round++)
        {
            // Alternate which side goes first, so neither always follows the other.
            if (round % 2 == 0) { referenceTimes.Add(reference()); oursTimes.Add(ours()); }
            else { oursTimes.Add(ours()); referenceTimes.Add(reference()); }
            Console.Error.Write($"\r{label}: round {round + 1}/{Rounds}");
        }
        Console.Error.Write("\r" + new string(' ', 60) + "\r");
        var ratios = referenceTimes.Zip(oursTimes, (r, o) => r / o).Order().ToList();
        return new AlternatingResult(Median(oursTimes), Median(referenceTimes), ratios[ratios.Count / 2], ratios[ratios.Count / 4], ratios[ratios.Count * 3 / 4]);
    }

    /// <summary>
    /// A timer for <paramref name="work"/>: seconds per call over <paramref name="calls"/> calls, after
    /// a warm-up call and before a pause. The pause matters: a library's threads (OpenBLAS's,
    /// PyTorch's, Tensorium's for 0.5 ms) keep spinning for a while after a call returns, and
    /// whichever side runs next would otherwise share its cores with them (that made Tensorium's
    /// GEMM look 5-15% slower in an earlier version of this harness).
    /// </summary>
    public static Func<double> Timer(Action work, int calls) => () =>
    {
        work();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < calls; i++) work();
        double seconds = clock.Elapsed.TotalSeconds / calls;
        Pause();
        return seconds;
    };

    /// <summary>
    /// Calls of <paramref name="work"/> (timed once here) that take about <paramref name="seconds"/>:
    /// a timing that long spans many scheduler ticks, so one tick's hiccup is a small part of it.
    /// </summary>
    public static int CallsFor(Action work, double seconds)
    {
        var clock = Stopwatch.StartNew();
        work();
        return Math.Max(1, (int)Math.Ceiling(seconds / clock.Elapsed.TotalSeconds));
    }

    /// <summary>The pause after every timing (see <see cref="Timer"/>).</summary>
    public static void Pause() => Thread.Sleep(200);

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
