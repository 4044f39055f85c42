using System.Buffers.Binary;
using System.Text;
using Tensorium.Data;
using Tensorium.Layers;

namespace Tensorium.Tests.Data;

/// <summary>Safetensors files: round trips, the exact byte layout of the spec, every kind of corruption, atomic saves, and model checkpoints.</summary>
public class SafeTensorsTests
{
    private DataTempFolder _folder = null!;

    [SetUp] public void MakeFolder() => _folder = new DataTempFolder();
    [TearDown] public void RemoveFolder() => _folder.Dispose();

    /// <summary>A file per the spec: 8-byte little-endian header length, the JSON header padded with spaces to a multiple of 8, the data.</summary>
    private static byte[] FileBytes(string headerJson, byte[] data, ulong? declaredLength = null)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        int padded = (header.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)padded);
        header.CopyTo(bytes, 8);
        bytes.AsSpan(8 + header.Length, padded - header.Length).Fill((byte)' ');
        data.CopyTo(bytes, 8 + padded);
        return bytes;
    }

    private static byte[] Floats(params float[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    /// <summary>Writes a file and returns the message of the InvalidDataException that loading it raises (which must name the file).</summary>
    private string LoadError(byte[] bytes)
    {
        var path = _folder.File("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.That(e!.Message, Does.Contain(path), "the error names the file");
        return e.Message;
    }

    [Test]
    public void RoundTripsEveryDTypeAndShape()
    {
        using var scope = new TensorScope();
        var matrix = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32.matrix"] = matrix,
            ["f32.transposed"] = matrix.Transpose(0, 1),   // a strided view: saved in its own row-major order
            ["f64.vector"] = Tensor.FromArray(new[] { Math.PI, -1e300, double.Epsilon }),
            ["i32.cube"] = Tensor.FromArray(Enumerable.Range(-4, 8).ToArray(), 2, 2, 2),
            ["i64.scalar"] = Tensor.FromSpan<long>([long.MaxValue - 1], []),   // Scalar(double) would round it
            ["f32.empty"] = Tensor.Zeros([0, 3]),
            ["unicode ünïcødé+<name>"] = Tensor.Ones([1]),
        };
        var path = _folder.File("all.safetensors");
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo \"quoted\"" });
        var loaded = SafeTensors.Load(path);
        Assert.That(loaded.Keys, Is.EquivalentTo(tensors.Keys));
        foreach (var (name, original) in tensors)
        {
            Assert.That(loaded[name].DType, Is.EqualTo(original.DType), name);
            Assert.That(loaded[name].Shape, Is.EqualTo(original.Shape), name);
            Assert.That(loaded[name].ToDoubleArray(), Is.EqualTo(original.ToDoubleArray()), name);
        }
        Assert.That(loaded["i64.scalar"].ToArray<long>()[0], Is.EqualTo(long.MaxValue - 1), "int64 is stored exactly, not through double");
        Assert.That(loaded["f32.transposed"].ToArray<float>(), Is.EqualTo(new float[] { 1, 4, 2, 5, 3, 6 }));
        Assert.That(SafeTensors.ReadMetadata(path), Is.EquivalentTo(new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo \"quoted\"" }));

        var bytes = File.ReadAllBytes(path);
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(bytes) % 8, Is.EqualTo(0), "header padded so the data is 8-byte aligned");
    }

    [Test]
    public void WritesExactlyTheBytesTheSpecDescribes()
    {
        // What safetensors' own serializer produces for these tensors: metadata first, compact JSON, space padding.
        var expected = FileBytes(
            """{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}""",
            [.. Floats(1.5f, -2f), .. BitConverter.GetBytes(7L)]);
        using var a = Tensor.FromArray(new[] { 1.5f, -2f });
        using var b = Tensor.Scalar(7, DType.Int64);
        var path = _folder.File("ours.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["b"] = b, ["a"] = a }, new Dictionary<string, string> { ["format"] = "pt" });
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected));
    }

    [Test]
    public void ReadsAHandMadeFileInAnyEntryOrder()
    {
        // JSON order differs from data order, as files from other writers may have it.
        var data = new List<byte>();
        data.AddRange(BitConverter.GetBytes(-3));
        data.AddRange(BitConverter.GetBytes(12));
        data.AddRange(BitConverter.GetBytes(0.25));
        data.AddRange(BitConverter.GetBytes(-8.5));
        var path = _folder.File("theirs.safetensors");
        File.WriteAllBytes(path, FileBytes(
            """{"w":{"dtype":"F64","shape":[1,2],"data_offsets":[8,24]}, "n":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}""", data.ToArray()));
        var loaded = SafeTensors.Load(path);
        using var w = loaded["w"];
        using var n = loaded["n"];
        Assert.That(w.Shape, Is.EqualTo(new[] { 1, 2 }));
        Assert.That(w.ToArray<double>(), Is.EqualTo(new[] { 0.25, -8.5 }));
        Assert.That(n.ToArray<int>(), Is.EqualTo(new[] { -3, 12 }));
        Assert.That(SafeTensors.ReadMetadata(path), Is.Empty);
    }

    [Test]
    public void MalformedHeadersAreNamedClearly()
    {
        const string a8 = """ "a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]} """;
        var eight = Floats(1, 2);
        Assert.That(LoadError([1, 2, 3]), Does.Contain("3 bytes").And.Contain("too short"));
        Assert.That(LoadError(FileBytes("{" + a8 + "}", eight, declaredLength: 1000)), Does.Contain("header length field says 1000"));
        Assert.That(LoadError(FileBytes("""{"a":{"dtype":"F32",""", eight)), Does.Contain("not well-formed JSON"));
        Assert.That(LoadError(FileBytes("[1, 2]", [])), Does.Contain("should be a JSON object"));
        Assert.That(LoadError(FileBytes("{" + a8 + "," + a8 + "}", eight)), Does.Contain("'a' twice"));
        Assert.That(LoadError(FileBytes("""{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}""", Floats(1))), Does.Contain("'BF16' is not supported"));
        Assert.That(LoadError(FileBytes("""{"a":{"dtype":"F32","data_offsets":[0,8]}}""", eight)), Does.Contain("tensor 'a'").And.Contain("no \"shape\""));
        Assert.That(LoadError(FileBytes("""{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", eight)), Does.Contain("non-negative integers"));
        Assert.That(LoadError(FileBytes("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}""", eight)), Does.Contain("[begin, end]"));
        Assert.That(LoadError(FileBytes("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", eight)), Does.Contain("needs 12 bytes").And.Contain("span 8"));
        Assert.That(LoadError(FileBytes("""{"__metadata__":{"epoch":3}}""", [])), Does.Contain("metadata 'epoch' should be a string"));
    }

    [Test]
    public void OffsetsMustTileTheDataExactly()
    {
        string Two(string a, string b) =>
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":""" + a + """},"b":{"dtype":"F32","shape":[2],"data_offsets":""" + b + "}}";
        Assert.That(LoadError(FileBytes(Two("[0,8]", "[4,12]"), Floats(1, 2, 3))), Does.Contain("'b' at [4, 12) overlaps tensor 'a'"));
        Assert.That(LoadError(FileBytes(Two("[0,8]", "[12,20]"), Floats(1, 2, 3, 4, 5))), Does.Contain("contiguous").And.Contain("gap of 4 bytes"));
        Assert.That(LoadError(FileBytes(Two("[0,8]", "[8,16]"), Floats(1, 2, 3))), Does.Contain("truncated").And.Contain("only 12 data bytes"));
        Assert.That(LoadError(FileBytes(Two("[0,8]", "[8,16]"), Floats(1, 2, 3, 4, 5))), Does.Contain("4 bytes after the last tensor"));
        Assert.That(LoadError(FileBytes(Two("[0,8]", "[1000000,1000008]"), Floats(1, 2, 3, 4))), Does.Contain("begins at data offset 1000000"));
    }

    [Test]
    public void TruncatedSavedFileIsRejected()
    {
        using var t = Tensor.Ones([4, 4]);
        var path = _folder.File("model.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["t"] = t });
        var bytes = File.ReadAllBytes(path);
        Assert.That(LoadError(bytes[..^3]), Does.Contain("truncated"));
    }

    [Test]
    public void FailedSaveLeavesTheExistingFileUntouched()
    {
        var path = _folder.File("model.safetensors");
        using var good = Tensor.Ones([3]);
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = good });
        var before = File.ReadAllBytes(path);

        var dead = Tensor.Zeros([2]);
        dead.Dispose();
        var e = Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = good, ["dead"] = dead }));
        Assert.That(e!.Message, Does.Contain("'dead'").And.Contain("disposed").And.Contain(path));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(_folder.Path), Is.EqualTo(new[] { path }), "no temporary file is left behind");

        // A successful save replaces the file.
        using var other = Tensor.Full([5], 2);
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = other });
        var loaded = SafeTensors.Load(path);
        using var w = loaded["w"];
        Assert.That(w.ToArray<float>(), Is.EqualTo(new float[] { 2, 2, 2, 2, 2 }));
    }

    [Test]
    public void SaveIntoAnUnwritableFolderNamesTheFolderNotATempFile()
    {
        // /proc takes no new files, even for root; other systems have no such folder at hand.
        Assume.That(OperatingSystem.IsLinux(), "needs /proc");
        using var t = Tensor.Ones([3]);
        var e = Assert.Throws<IOException>(() => SafeTensors.Save("/proc/model.safetensors", new Dictionary<string, Tensor> { ["w"] = t }));
        Assert.That(e!.Message, Does.StartWith("SafeTensors.Save: cannot write '/proc/model.safetensors': could not create a file in folder '/proc'"));
        Assert.That(e.Message, Does.Not.Contain(".tmp"), "the temporary name is an implementation detail");
        Assert.That(e.InnerException, Is.Not.Null);
    }

    [Test]
    public void SaveOverAFolderNamesTheTargetAndLeavesNoTemporaryFile()
    {
        var path = _folder.File("model.safetensors");
        Directory.CreateDirectory(path);   // the target name is taken by a folder: the final rename fails
        using var t = Tensor.Ones([3]);
        var e = Assert.Catch<IOException>(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = t }));
        Assert.That(e!.Message, Does.StartWith($"SafeTensors.Save: cannot write '{path}': could not replace it"));
        Assert.That(Directory.GetFiles(_folder.Path), Is.Empty, "no temporary file is left behind");
    }

    // ---- Checkpoints of a model ---------------------------------------------------------------

    private static Sequential Mlp(ulong seed, int outputs = 3) =>
        new(new Linear(4, 8, generator: new Generator(seed)), new ReLU(), new Linear(8, outputs, generator: new Generator(seed + 100)));

    private static Dictionary<string, float[]> Weights(Module model) =>
        model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.ToArray<float>());

    [Test]
    public void CheckpointRoundTripRestoresTheModelAndOptimizerState()
    {
        using var source = Mlp(1);
        using var target = Mlp(2);
        using var step = Tensor.Scalar(12, DType.Int64);
        using var moment = Tensor.Full([8, 4], 0.5);
        var path = _folder.File("ckpt.safetensors");
        Checkpoint.Save(path, source, new Dictionary<string, Tensor> { ["step"] = step, ["0.weight.exp_avg"] = moment }, new Dictionary<string, string> { ["epoch"] = "3" });
        Assert.That(Weights(target)["0.weight"], Is.Not.EqualTo(Weights(source)["0.weight"]), "the models start different");

        var (missing, unexpected) = Checkpoint.LoadInto(path, target);
        Assert.That(missing, Is.Empty);
        Assert.That(unexpected, Is.Empty, "optimizer entries are not unexpected model keys");
        Assert.That(Weights(target), Is.EqualTo(Weights(source)));
        using (new TensorScope())
        {
            var x = Tensor.FromArray(new float[] { 1, -2, 3, 0.5f, 0, 1, -1, 2 }, 2, 4);
            Assert.That(target.Forward(x).ToArray<float>(), Is.EqualTo(source.Forward(x).ToArray<float>()));
        }

        var optimizer = Checkpoint.LoadOptimizerState(path);
        Assert.That(optimizer.Keys, Is.EquivalentTo(new[] { "step", "0.weight.exp_avg" }));
        Assert.That(optimizer["step"].ToArray<long>(), Is.EqualTo(new long[] { 12 }));
        Assert.That(optimizer["0.weight.exp_avg"].ToArray<float>(), Has.All.EqualTo(0.5f));
        foreach (var t in optimizer.Values) t.Dispose();

        var meta = SafeTensors.ReadMetadata(path);
        Assert.That(meta["epoch"], Is.EqualTo("3"));
        Assert.That(meta["format"], Is.EqualTo("pt"));
        Assert.That(SafeTensors.Load(path).Keys, Does.Contain("0.weight").And.Contain("2.bias").And.Contain("optimizer.step"), "plain PyTorch-style names");
    }

    [Test]
    public void NonStrictLoadingReportsMissingAndUnexpectedKeys()
    {
        using var small = Mlp(1);
        var path = _folder.File("small.safetensors");
        Checkpoint.Save(path, small);

        using var bigger = new Sequential(new Linear(4, 8, generator: new Generator(5)), new ReLU(), new Linear(8, 3, generator: new Generator(6)), new ReLU(), new Linear(3, 2, generator: new Generator(7)));
        var before = Weights(bigger);
        var strict = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadInto(path, bigger));
        Assert.That(strict!.Message, Does.Contain(path).And.Contain("4.weight").And.Contain("4.bias"));
        Assert.That(Weights(bigger), Is.EqualTo(before), "a refused strict load changes nothing");

        var (missing, unexpected) = Checkpoint.LoadInto(path, bigger, strict: false);
        Assert.That(missing, Is.EquivalentTo(new[] { "4.weight", "4.bias" }));
        Assert.That(unexpected, Is.Empty);
        Assert.That(Weights(bigger)["2.weight"], Is.EqualTo(Weights(small)["2.weight"]));
        Assert.That(Weights(bigger)["4.weight"], Is.EqualTo(before["4.weight"]), "the new head keeps its own weights");

        using var base_ = new Sequential(new Linear(4, 8, generator: new Generator(9)));
        (missing, unexpected) = Checkpoint.LoadInto(path, base_, strict: false);
        Assert.That(missing, Is.Empty);
        Assert.That(unexpected, Is.EquivalentTo(new[] { "2.weight", "2.bias" }));
        Assert.That(Weights(base_)["0.weight"], Is.EqualTo(Weights(small)["0.weight"]));
    }

    [Test]
    public void ShapeMismatchOrCorruptFileLeavesTheModelUnchanged()
    {
        using var source = Mlp(1);
        var path = _folder.File("ckpt.safetensors");
        Checkpoint.Save(path, source);

        using var wide = Mlp(2, outputs: 5);   // layer 0 matches, layer 2 does not
        var before = Weights(wide);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadInto(path, wide));
        Assert.That(e!.Message, Does.Contain("2.weight").And.Contain("[3, 8]").And.Contain("[5, 8]"));
        Assert.That(Weights(wide), Is.EqualTo(before), "not even the matching layer 0 was written");

        using var same = Mlp(3);
        before = Weights(same);
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..^1]);
        Assert.Throws<InvalidDataException>(() => Checkpoint.LoadInto(path, same));
        Assert.That(Weights(same), Is.EqualTo(before));
    }
}
