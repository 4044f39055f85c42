using System.Buffers.Binary;
using System.IO.Compression;
using Tensorium.Data;

namespace Tensorium.Tests.Data;

/// <summary>The IDX reader and the Fashion-MNIST loader on small generated files (raw and gzip, good and broken), plus the real test split when installed.</summary>
public class IdxTests
{
    private DataTempFolder _folder = null!;

    [SetUp] public void MakeFolder() => _folder = new DataTempFolder();
    [TearDown] public void RemoveFolder() => _folder.Dispose();

    /// <summary>An IDX file of unsigned bytes: magic 00 00 08 rank, big-endian dims, data.</summary>
    private static byte[] IdxBytes(int[] shape, byte[] data, byte type = 0x08)
    {
        var bytes = new List<byte> { 0, 0, type, (byte)shape.Length };
        foreach (var d in shape) bytes.AddRange([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest)) gz.Write(raw);
        return output.ToArray();
    }

    /// <summary>Three 2x4 images whose pixels are 0, 10, ..., plus the last pixel 255; labels 7, 0, 9.</summary>
    private static (byte[] Images, byte[] Labels) Sample()
    {
        var pixels = Enumerable.Range(0, 24).Select(i => (byte)(i * 10)).ToArray();
        pixels[23] = 255;
        return (IdxBytes([3, 2, 4], pixels), IdxBytes([3], [7, 0, 9]));
    }

    [Test]
    public void ReadsRawAndGzipFilesAlike()
    {
        var (images, _) = Sample();
        File.WriteAllBytes(_folder.File("raw-idx3-ubyte"), images);
        File.WriteAllBytes(_folder.File("packed-idx3-ubyte.gz"), Gzip(images));
        File.WriteAllBytes(_folder.File("packed-without-suffix"), Gzip(images));   // detected by magic, not by name
        foreach (var name in new[] { "raw-idx3-ubyte", "packed-idx3-ubyte.gz", "packed-without-suffix" })
        {
            var (shape, data) = Idx.Read(_folder.File(name));
            Assert.That(shape, Is.EqualTo(new[] { 3, 2, 4 }), name);
            Assert.That(data, Is.EqualTo(images[16..]), name);
        }
    }

    [Test]
    public void LoadsFashionMnistNamesAsScaledImagesAndInt64Labels()
    {
        var (images, labels) = Sample();
        File.WriteAllBytes(_folder.File("t10k-images-idx3-ubyte.gz"), Gzip(images));
        File.WriteAllBytes(_folder.File("t10k-labels-idx1-ubyte.gz"), Gzip(labels));
        File.WriteAllBytes(_folder.File("train-images-idx3-ubyte"), images);
        File.WriteAllBytes(_folder.File("train-labels-idx1-ubyte"), labels);
        foreach (bool train in new[] { false, true })
        {
            using var data = FashionMnist.Load(_folder.Path, train);
            Assert.That(data.Inputs.Shape, Is.EqualTo(new[] { 3, 1, 2, 4 }));
            Assert.That(data.Inputs.DType, Is.EqualTo(DType.Float32));
            Assert.That(data.Targets.DType, Is.EqualTo(DType.Int64));
            Assert.That(data.Targets.ToArray<long>(), Is.EqualTo(new long[] { 7, 0, 9 }));
            var pixels = data.Inputs.ToArray<float>();
            Assert.That(pixels[0], Is.EqualTo(0f));
            Assert.That(pixels[5], Is.EqualTo(50 / 255f));
            Assert.That(pixels[23], Is.EqualTo(1f));
        }
    }

    [Test]
    public void TruncatedFileSaysHowManyBytesWereExpected()
    {
        var (images, _) = Sample();
        var path = _folder.File("cut-idx3-ubyte");
        File.WriteAllBytes(path, images[..^5]);
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
        Assert.That(e!.Message, Does.Contain("Idx").And.Contain(path).And.Contain("truncated").And.Contain("40 bytes").And.Contain("got 35"));

        var gz = _folder.File("cut-idx3-ubyte.gz");
        File.WriteAllBytes(gz, Gzip(images[..^5]));
        e = Assert.Throws<InvalidDataException>(() => Idx.Read(gz));
        Assert.That(e!.Message, Does.Contain(gz).And.Contain("after decompression"));

        File.WriteAllBytes(path, images[..10]);
        e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
        Assert.That(e!.Message, Does.Contain("header needs 16 bytes"));
    }

    [Test]
    public void BadMagicAndUnsupportedTypesAreRejected()
    {
        var path = _folder.File("bad");
        File.WriteAllBytes(path, [0x50, 0x4B, 0x03, 0x04, 1, 2, 3, 4]);   // a zip file, say
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("magic 504B0304").And.Contain("00000803"));

        File.WriteAllBytes(path, IdxBytes([1], [0, 0, 0, 0], type: 0x0D));
        e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
        Assert.That(e!.Message, Does.Contain("0x0D").And.Contain("unsigned bytes"));
    }

    [Test]
    public void CorruptGzipIsAnInvalidDataErrorNamingTheFile()
    {
        var path = _folder.File("broken.gz");
        File.WriteAllBytes(path, [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0x12]);
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
        Assert.That(e!.Message, Does.Contain(path));
    }

    [Test]
    public void GzipMagicWithNothingAfterItIsAnInvalidDataError()
    {
        // Two or three bytes 1f 8b: too short for the gzip trailer the reader peeks at.
        var path = _folder.File("stub.gz");
        foreach (byte[] bytes in new byte[][] { [0x1f, 0x8b], [0x1f, 0x8b, 0x08] })
        {
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path), $"{bytes.Length} bytes");
            Assert.That(e!.Message, Does.Contain(path));
        }
    }

    [Test]
    public void GzipTrailerAnnouncingAHugeSizeIsNotTrusted()
    {
        // A corrupt trailer claiming int.MaxValue bytes must not size the output array (it is
        // past Array.MaxLength), nor, for any size deflate cannot reach from this file, allocate it.
        var (images, _) = Sample();
        var gz = Gzip(images);
        BinaryPrimitives.WriteInt32LittleEndian(gz.AsSpan(gz.Length - 4), int.MaxValue);
        var path = _folder.File("lying-trailer.gz");
        File.WriteAllBytes(path, gz);
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("gzip"));
    }

    [Test]
    public void ImageAndLabelCountsMustMatch()
    {
        var (images, _) = Sample();
        File.WriteAllBytes(_folder.File("t10k-images-idx3-ubyte"), images);
        File.WriteAllBytes(_folder.File("t10k-labels-idx1-ubyte"), IdxBytes([2], [1, 2]));
        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(_folder.Path, train: false));
        Assert.That(e!.Message, Does.Contain("3 images").And.Contain("2 labels"));

        // Labels where images belong: the rank tells them apart.
        File.WriteAllBytes(_folder.File("t10k-images-idx3-ubyte"), IdxBytes([2], [1, 2]));
        e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(_folder.Path, train: false));
        Assert.That(e!.Message, Does.Contain("[N, rows, cols]"));
    }

    [Test]
    public void MissingFilesSayWhatWasLookedForAndHowToGetIt()
    {
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(_folder.Path, train: true));
        Assert.That(e!.Message, Does.Contain("train-images-idx3-ubyte").And.Contain("train-images-idx3-ubyte.gz")
            .And.Contain(_folder.Path).And.Contain("dataset-fashion-mnist"));
    }

    [Test]
    public void LoadsTheRealFashionMnistTestSplitWhenInstalled()
    {
        if (!File.Exists(Path.Combine(FashionMnist.DefaultDirectory, "t10k-images-idx3-ubyte.gz")))
            Assert.Ignore($"Fashion-MNIST is not installed in {FashionMnist.DefaultDirectory} (apt-get install dataset-fashion-mnist).");
        using var data = FashionMnist.Load(train: false);
        Assert.That(data.Count, Is.EqualTo(10000));
        Assert.That(data.Inputs.Shape, Is.EqualTo(new[] { 10000, 1, 28, 28 }));
        var labels = data.Targets.ToArray<long>();
        Assert.That(labels, Has.All.InRange(0L, 9L));
        Assert.That(labels.GroupBy(l => l).Select(g => g.Count()), Has.All.EqualTo(1000), "the test split is balanced");
        var pixels = data.Inputs.ToArray<float>();
        Assert.That(pixels.Min(), Is.EqualTo(0f));
        Assert.That(pixels.Max(), Is.EqualTo(1f));
    }
}
