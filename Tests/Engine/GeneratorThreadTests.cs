namespace Tensorium.Tests.Engine;

/// <summary>
/// One generator shared by several threads (as <see cref="Generator.Default"/> is, by Dropout,
/// initialisers and the data loader) must never hand two draws the same words of its stream.
/// </summary>
public class GeneratorThreadTests
{
    [Test]
    public void ConcurrentDrawsNeverOverlap()
    {
        // A race needs two threads inside Advance at the same moment; on a busy two-core machine
        // a round of a million draws per thread shows it about half the time, so run a few rounds.
        for (int round = 0; round < 4; round++) DrawConcurrently(new Generator((ulong)round));
    }

    private static void DrawConcurrently(Generator generator)
    {
        const int threads = 4, drawsPerThread = 1_000_000;
        var offsets = new ulong[threads * drawsPerThread];
        var lengths = new long[threads * drawsPerThread];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();   // all threads draw at once, so reservations interleave
            for (int i = t * drawsPerThread; i < (t + 1) * drawsPerThread; i++)
            {
                lengths[i] = 1 + (i % 8);
                offsets[i] = generator.Advance(lengths[i]);
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());

        Array.Sort(offsets, lengths);
        for (int i = 1; i < offsets.Length; i++)
        {
            if (offsets[i] < offsets[i - 1] + (ulong)lengths[i - 1])
                Assert.Fail($"draw at offset {offsets[i]} overlaps the draw at {offsets[i - 1]} ({lengths[i - 1]} words)");
        }
        // Every reserved word is accounted for: no reservation was lost to a race either.
        ulong expected = (ulong)lengths.Sum(words => (words + 3) / 4 * 4);
        Assert.That(generator.Offset, Is.EqualTo(expected));
    }

    [Test]
    public void ConcurrentRandomTensorsFromOneGeneratorAreAllDistinct()
    {
        var generator = new Generator(11);
        const int threads = 4, tensorsPerThread = 200;
        var firsts = new float[threads][];
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var mine = new float[tensorsPerThread];
            for (int i = 0; i < tensorsPerThread; i++)
            {
                using var r = Tensor.Uniform([4], generator: generator);
                mine[i] = r.ToArray<float>()[0];
            }
            firsts[t] = mine;
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());

        var values = firsts.SelectMany(f => f).ToArray();
        Assert.That(values.Distinct().Count(), Is.EqualTo(values.Length), "two draws got the same numbers");
    }

    [Test]
    public void NegativeDrawSizeIsRejected()
    {
        var generator = new Generator(1);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => generator.Advance(-1))!;
        Assert.That(error.Message, Does.StartWith("generator: got a draw of -1 words; expected 0 or more."));
        Assert.That(generator.Offset, Is.EqualTo(0UL));
    }
}
