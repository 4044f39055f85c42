using Tensorium.Data;

namespace Tensorium.Tests.Layers;

/// <summary>RandomCrop, RandomHorizontalFlip and Normalize as seeded dataset wrappers, checked against host references (issue 16).</summary>
[NonParallelizable]
public class AugmentationTests
{
    private const int N = 16, C = 2, H = 5, W = 4;

    /// <summary>Images whose pixels are all distinct and non-zero (1, 2, 3, ...), labelled by index.</summary>
    private static TensorDataset Images() =>
        new(Tensor.FromArray(Enumerable.Range(1, N * C * H * W).Select(v => (float)v).ToArray(), N, C, H, W),
            Tensor.FromArray(Enumerable.Range(0, N).Select(i => (long)i).ToArray()));

    private static (float[] Inputs, long[] Targets) All(IDataset data)
    {
        var (x, y) = data.GetBatch(Enumerable.Range(0, data.Count).ToArray());
        using (x)
        using (y)
            return (x.ToArray<float>(), y.ToArray<long>());
    }

    /// <summary>Image i of a flat [N, C, H, W] array shifted so that output (y, x) shows input (y + dy, x + dx), zeros outside.</summary>
    private static float[] Shifted(float[] images, int i, int dy, int dx)
    {
        var result = new float[C * H * W];
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                {
                    int sy = y + dy, sx = x + dx;
                    result[(c * H + y) * W + x] = sy is >= 0 and < H && sx is >= 0 and < W ? images[((i * C + c) * H + sy) * W + sx] : 0;
                }
        return result;
    }

    private static float[] Image(float[] images, int i) => images.AsSpan(i * C * H * W, C * H * W).ToArray();

    [Test]
    public void RandomCropShiftsEachImageByUpToThePaddingWithZerosComingIn()
    {
        using var images = Images();
        var (original, _) = All(images);
        var (cropped, targets) = All(new RandomCrop(images, padding: 2, new Generator(1)));
        Assert.That(targets, Is.EqualTo(Enumerable.Range(0, N).Select(i => (long)i)), "targets pass through");
        var shifts = new HashSet<(int, int)>();
        for (int i = 0; i < N; i++)
        {
            var image = Image(cropped, i);
            var match = (from dy in Enumerable.Range(-2, 5) from dx in Enumerable.Range(-2, 5)
                         where Shifted(original, i, dy, dx).SequenceEqual(image) select (dy, dx)).ToList();
            Assert.That(match, Has.Count.EqualTo(1), $"image {i} is its original shifted by at most 2 pixels");
            shifts.Add(match[0]);
        }
        Assert.That(shifts.Count, Is.GreaterThan(4), "offsets vary from image to image");

        Assert.That(All(new RandomCrop(images, 2, new Generator(1))).Inputs, Is.EqualTo(cropped), "the same seed crops the same way");
        Assert.That(All(new RandomCrop(images, 2, new Generator(2))).Inputs, Is.Not.EqualTo(cropped), "another seed crops differently");
        Assert.That(All(new RandomCrop(images, 0, new Generator(1))).Inputs, Is.EqualTo(original), "no padding, no shift");
    }

    [Test]
    public void RandomHorizontalFlipMirrorsAboutHalfTheImages()
    {
        using var images = Images();
        var (original, _) = All(images);
        float[] Mirrored(int i) => Enumerable.Range(0, C * H * W).Select(k => original[i * C * H * W + k - k % W + (W - 1 - k % W)]).ToArray();

        var (flipped, targets) = All(new RandomHorizontalFlip(images, 0.5, new Generator(3)));
        Assert.That(targets, Is.EqualTo(Enumerable.Range(0, N).Select(i => (long)i)));
        int mirroredCount = 0;
        for (int i = 0; i < N; i++)
        {
            var image = Image(flipped, i);
            bool isMirrored = image.SequenceEqual(Mirrored(i));
            Assert.That(isMirrored || image.SequenceEqual(Image(original, i)), $"image {i} is either itself or its mirror");
            if (isMirrored) mirroredCount++;
        }
        Assert.That(mirroredCount, Is.InRange(3, N - 3), "about half flip");
        Assert.That(All(new RandomHorizontalFlip(images, 0.5, new Generator(3))).Inputs, Is.EqualTo(flipped), "the same seed flips the same images");
        Assert.That(All(new RandomHorizontalFlip(images, 1, new Generator(4))).Inputs, Is.EqualTo(Enumerable.Range(0, N).SelectMany(Mirrored)));
        Assert.That(All(new RandomHorizontalFlip(images, 0, new Generator(4))).Inputs, Is.EqualTo(original));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomHorizontalFlip(images, 1.5));
    }

    [Test]
    public void NormalizeSubtractsTheMeanAndDividesByTheStdPerChannel()
    {
        using var images = Images();
        var (original, _) = All(images);
        double[] mean = [10, 20], std = [2, 4];
        var (normalised, _) = All(new Normalize(images, mean, std));
        for (int k = 0; k < original.Length; k++)
        {
            int c = k / (H * W) % C;
            Assert.That(normalised[k], Is.EqualTo((float)((original[k] - mean[c]) / std[c])).Within(1e-5), $"element {k}, channel {c}");
        }
        var e = Assert.Throws<ArgumentException>(() => new Normalize(images, [0.5, 0.5, 0.5], [0.2, 0.2, 0.2]).GetBatch([0]));
        Assert.That(e!.Message, Does.Contain("Normalize").And.Contain("[N, 3, ...]").And.Contain("[1, 2, 5, 4]"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Normalize(images, [0], [0]));
        foreach (var badMean in new[] { double.NaN, double.PositiveInfinity })
        {
            var m = Assert.Throws<ArgumentOutOfRangeException>(() => new Normalize(images, [0.5, badMean], [1, 1]), $"mean {badMean}");
            Assert.That(m!.Message, Does.Contain("Normalize").And.Contain("finite means"));
        }
    }

    [Test]
    public void FlipFreesItsIndexWithoutWaitingForTheCollector()
    {
        using var images = Images();
        var flip = new RandomHorizontalFlip(images, 1, new Generator(8));
        All(flip);   // warm the pool
        long before = Reference.SettledLiveBuffers();
        var (x, y) = flip.GetBatch([0, 1]);
        x.Dispose();
        y.Dispose();
        // No GC here: a handle dropped without Dispose keeps its buffer until a finalizer runs.
        Assert.That(Device.Cpu.Pool.LiveBuffers, Is.EqualTo(before), "every temporary of the flip was disposed");
    }

    [Test]
    public void WrappersComposeAndFreeWhatTheyReplace()
    {
        using var images = Images();
        var pipeline = new Normalize(new RandomHorizontalFlip(new RandomCrop(images, 1, new Generator(5)), 0.5, new Generator(6)), [0.5], [2]);
        All(pipeline);   // warm the pool
        long before = Reference.SettledLiveBuffers();
        foreach (var (x, y) in new DataLoader(pipeline, batchSize: 5, shuffle: true, generator: new Generator(7)))
        {
            Assert.That(x.Shape, Is.EqualTo(new[] { x.Size(0), C, H, W }));
            x.Dispose();
            y.Dispose();
        }
        Assert.That(Reference.SettledLiveBuffers(), Is.EqualTo(before), "every intermediate batch was freed");
        using var flat = new TensorDataset(Tensor.Zeros([4, 3]), Tensor.Zeros([4]));
        var e = Assert.Throws<ArgumentException>(() => new RandomCrop(flat, 1).GetBatch([0, 1]));
        Assert.That(e!.Message, Does.Contain("RandomCrop").And.Contain("[2, 3]"));
    }
}
