using Tensorium.Data;

namespace Tensorium.Tests.Data;

/// <summary>The CIFAR-10 binary reader on generated batch files.</summary>
public class CifarTests
{
    private DataTempFolder _folder = null!;

    [SetUp] public void MakeFolder() => _folder = new DataTempFolder();
    [TearDown] public void RemoveFolder() => _folder.Dispose();

    /// <summary>Records with the given labels; pixel p of record r is (r * 7 + p) mod 256.</summary>
    private static byte[] Records(params byte[] labels)
    {
        var bytes = new byte[labels.Length * Cifar10.RecordBytes];
        for (int r = 0; r < labels.Length; r++)
        {
            bytes[r * Cifar10.RecordBytes] = labels[r];
            for (int p = 0; p < Cifar10.ImageBytes; p++) bytes[r * Cifar10.RecordBytes + 1 + p] = (byte)((r * 7 + p) % 256);
        }
        return bytes;
    }

    [Test]
    public void TestSplitBecomesChwFloatsAndInt64Labels()
    {
        File.WriteAllBytes(_folder.File("test_batch.bin"), Records(3, 9, 0));
        using var data = Cifar10.Load(_folder.Path, train: false);
        Assert.That(data.Inputs.Shape, Is.EqualTo(new[] { 3, 3, 32, 32 }));
        Assert.That(data.Targets.ToArray<long>(), Is.EqualTo(new long[] { 3, 9, 0 }));
        var pixels = data.Inputs.ToArray<float>();
        // Record 1, channel 2 (blue), row 5, column 6: byte 2*1024 + 5*32 + 6 of its image.
        int p = 2 * 1024 + 5 * 32 + 6;
        Assert.That(pixels[Cifar10.ImageBytes + p], Is.EqualTo((7 + p) % 256 / 255f));
        Assert.That(pixels[0], Is.EqualTo(0f));
        Assert.That(pixels[255], Is.EqualTo(1f));
    }

    [Test]
    public void TrainSplitConcatenatesFiveBatchesInOrderFromTheArchiveFolder()
    {
        var folder = Directory.CreateDirectory(_folder.File("cifar-10-batches-bin")).FullName;
        for (int i = 1; i <= 5; i++) File.WriteAllBytes(Path.Combine(folder, $"data_batch_{i}.bin"), Records((byte)i, (byte)(i - 1)));
        using var data = Cifar10.Load(_folder.Path, train: true);
        Assert.That(data.Count, Is.EqualTo(10));
        Assert.That(data.Targets.ToArray<long>(), Is.EqualTo(new long[] { 1, 0, 2, 1, 3, 2, 4, 3, 5, 4 }));
    }

    [Test]
    public void TruncatedOrOddSizedFileIsRejected()
    {
        var path = _folder.File("test_batch.bin");
        File.WriteAllBytes(path, Records(1, 2)[..^10]);
        var e = Assert.Throws<InvalidDataException>(() => Cifar10.Load(_folder.Path, train: false));
        Assert.That(e!.Message, Does.Contain("Cifar10").And.Contain(path).And.Contain("6136 bytes").And.Contain("multiple of 3073")
            .And.Contain("1 whole records and 3063 stray bytes"));

        File.WriteAllBytes(path, []);
        Assert.Throws<InvalidDataException>(() => Cifar10.Load(_folder.Path, train: false));
    }

    [Test]
    public void NullFileListIsAnArgumentError()
    {
        var e = Assert.Throws<ArgumentNullException>(() => Cifar10.LoadFiles(null!));
        Assert.That(e!.ParamName, Is.EqualTo("paths"));
        e = Assert.Throws<ArgumentNullException>(() => Cifar10.LoadFiles(_folder.File("test_batch.bin"), null!));
        Assert.That(e!.Message, Does.Contain("Cifar10").And.Contain("path 1"));
    }

    [Test]
    public void LabelOutOfRangeIsRejected()
    {
        File.WriteAllBytes(_folder.File("test_batch.bin"), Records(1, 10));
        var e = Assert.Throws<InvalidDataException>(() => Cifar10.Load(_folder.Path, train: false));
        Assert.That(e!.Message, Does.Contain("record 1").And.Contain("label 10"));
    }

    [Test]
    public void MissingBatchNamesItAndWhereItLooked()
    {
        for (int i = 1; i <= 4; i++) File.WriteAllBytes(_folder.File($"data_batch_{i}.bin"), Records(0));
        var e = Assert.Throws<FileNotFoundException>(() => Cifar10.Load(_folder.Path, train: true));
        Assert.That(e!.Message, Does.Contain("data_batch_5.bin").And.Contain(_folder.Path).And.Contain("cifar-10-batches-bin"));
    }
}
