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
        Assert.That(LoadError(FileBytes("""{"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}""", Floats(1))), Does.Contain("'F8_E4M3' is not supported").And.Contain("expected F16, BF16, F32"));
        Assert.That(LoadError(FileBytes("""{"a":{"dtype":"bf16","shape":[2],"data_offsets":[0,4]}}""", Floats(1))), Does.Contain("'bf16' is not supported"), "dtype names are exact");
        Assert.That(LoadError(FileBytes("""{"a":{"dtype":"BF16","shape":[3],"data_offsets":[0,4]}}""", Floats(1))), Does.Contain("BF16 shape [3] needs 6 bytes").And.Contain("span 4"));
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
    public void TensorOverTwoGigabytesIsANamedErrorBeforeAnyTensorIsMade()
    {
        // A valid file (sparse, so it costs no disk) whose second tensor has 2.4e9 bytes: more
        // than one host array holds. The loader must say so, not fail allocating.
        const long big = 600_000_000L * 4;
        var path = _folder.File("huge.safetensors");
        var bytes = FileBytes("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"big":{"dtype":"F32","shape":[600000000],"data_offsets":[4,""" + (4 + big) + "]}}", Floats(1));
        using (var file = new FileStream(path, FileMode.CreateNew))
        {
            file.Write(bytes);
            file.SetLength(bytes.Length + big);
        }
        long before = Reference.SettledLiveBuffers();
        var e = Assert.Throws<NotSupportedException>(() => SafeTensors.Load(path));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("'big'").And.Contain("2400000000 bytes"));
        Assert.That(Reference.SettledLiveBuffers(), Is.EqualTo(before), "no tensor was left behind");
    }

    [Test]
    public void SavingATensorOverTwoGigabytesIsANamedErrorAndWritesNothing()
    {
        // 2.4e9 bytes as F32: more than one host array holds (Empty leaves the pages untouched).
        using var big = Tensor.Empty([600_000_000], DType.Float32, Device.Cpu);
        using var small = Tensor.Ones([2]);
        var path = _folder.File("huge.safetensors");
        var e = Assert.Throws<NotSupportedException>(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["big"] = big, ["small"] = small }));
        Assert.That(e!.Message, Does.Contain("SafeTensors.Save").And.Contain(path).And.Contain("'big'").And.Contain("2400000000 bytes"));
        Assert.That(Directory.GetFiles(_folder.Path), Is.Empty, "nothing was written");
    }

    [Test]
    public void InvalidUtf8InTheHeaderIsAnInvalidDataError()
    {
        var header = Encoding.UTF8.GetBytes("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}    """);
        header[2] = 0xff;   // the name's first byte
        var bytes = new byte[8 + header.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        Assert.That(LoadError(bytes), Does.Contain("UTF-8"));
        // Valid UTF-8 bytes, but the escape of a lone surrogate is no string either.
        Assert.That(LoadError(FileBytes("""{"w\ud800":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}""", [])), Does.Contain("not valid UTF-8 or Unicode"));
    }

    [Test]
    public void NameThatIsNotValidUnicodeIsANamedArgumentError()
    {
        using var t = Tensor.Ones([2]);
        var path = _folder.File("bad-name.safetensors");
        var e = Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w\ud800"] = t }));
        Assert.That(e!.Message, Does.Contain("SafeTensors.Save").And.Contain(path).And.Contain("U+D800"));
        e = Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = t }, new Dictionary<string, string> { ["note"] = "\udc00" }));
        Assert.That(e!.Message, Does.Contain("SafeTensors.Save").And.Contain(path).And.Contain("note"));
        Assert.That(File.Exists(path), Is.False);
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
    public void SaveToTheLongestFileNameTheFolderAllows()
    {
        // 255 bytes is the usual limit of one name (ext4, tmpfs, NTFS in UTF-16 units); the
        // temporary file beside the target must fit in it too.
        using var t = Tensor.Ones([2]);
        var path = _folder.File(new string('m', 255 - ".safetensors".Length) + ".safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["t"] = t });
        var loaded = SafeTensors.Load(path);
        using var back = loaded["t"];
        Assert.That(back.ToArray<float>(), Is.EqualTo(new[] { 1f, 1f }));
        Assert.That(Directory.GetFiles(_folder.Path), Is.EqualTo(new[] { path }), "no temporary file is left");
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

    // ---- F16 and BF16 ---------------------------------------------------------------------------

    private static byte[] Halves(params ushort[] bits) => bits.SelectMany(b => BitConverter.GetBytes(b)).ToArray();

    /// <summary>F16 bit patterns and their values, worked out from the format (not through System.Half).</summary>
    private static readonly (ushort Bits, float Value)[] F16Values =
    [
        (0x0000, 0f), (0x8000, -0f), (0x3C00, 1f), (0xC000, -2f), (0x3555, 0.333251953125f),
        (0x7BFF, 65504f),                                   // largest finite
        (0x0400, (float)Math.ScaleB(1, -14)),               // smallest normal
        (0x03FF, (float)Math.ScaleB(1023, -24)),            // largest subnormal
        (0x8001, -(float)Math.ScaleB(1, -24)),              // smallest subnormal, negative
        (0x7C00, float.PositiveInfinity), (0xFC00, float.NegativeInfinity),
    ];

    /// <summary>BF16 bit patterns and their values: the top 16 bits of a float32.</summary>
    private static readonly (ushort Bits, float Value)[] BF16Values =
    [
        (0x0000, 0f), (0x8000, -0f), (0x3F80, 1f), (0x4049, 3.140625f), (0xBEAB, -0.333984375f),
        (0x7F7F, (float)Math.ScaleB(255, 120)),             // largest finite: 1.9921875 * 2^127
        (0x0080, (float)Math.ScaleB(1, -126)),              // smallest normal
        (0x0001, (float)Math.ScaleB(1, -133)),              // smallest subnormal
        (0x007F, (float)Math.ScaleB(127, -133)),            // largest subnormal
        (0x7F80, float.PositiveInfinity), (0xFF80, float.NegativeInfinity),
    ];

    [Test]
    public void HalfPrecisionTensorsLoadAsFloat32OrFloat64()
    {
        ushort[] f16 = [.. F16Values.Select(v => v.Bits), 0x7E00];    // and a quiet NaN
        ushort[] bf16 = [.. BF16Values.Select(v => v.Bits), 0x7FC0];
        var path = _folder.File("half.safetensors");
        File.WriteAllBytes(path, FileBytes(
            """{"__metadata__":{"format":"pt"},"h":{"dtype":"F16","shape":[3,4],"data_offsets":[0,24]},"b":{"dtype":"BF16","shape":[12],"data_offsets":[24,48]},"n":{"dtype":"I32","shape":[1],"data_offsets":[48,52]}}""",
            [.. Halves(f16), .. Halves(bf16), .. BitConverter.GetBytes(-7)]));

        Assert.That(SafeTensors.ReadDTypes(path), Is.EquivalentTo(new Dictionary<string, SafeTensorsDType>
            { ["h"] = SafeTensorsDType.F16, ["b"] = SafeTensorsDType.BF16, ["n"] = SafeTensorsDType.I32 }));
        var loaded = SafeTensors.Load(path);
        using (var h = loaded["h"])
        using (var b = loaded["b"])
        using (var n = loaded["n"])
        {
            Assert.That(h.DType, Is.EqualTo(DType.Float32));
            Assert.That(h.Shape, Is.EqualTo(new[] { 3, 4 }));
            var hv = h.ToArray<float>();
            var bv = b.ToArray<float>();
            for (int i = 0; i < F16Values.Length; i++)
                Assert.That(BitConverter.SingleToInt32Bits(hv[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(F16Values[i].Value)), $"F16 0x{F16Values[i].Bits:X4}");
            for (int i = 0; i < BF16Values.Length; i++)
                Assert.That(BitConverter.SingleToInt32Bits(bv[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(BF16Values[i].Value)), $"BF16 0x{BF16Values[i].Bits:X4}");
            Assert.That(hv[^1], Is.NaN);
            Assert.That(bv[^1], Is.NaN);
            Assert.That(n.DType, Is.EqualTo(DType.Int32), "integers keep their type");
            Assert.That(n.ToArray<int>(), Is.EqualTo(new[] { -7 }));
        }

        var wide = SafeTensors.Load(path, halfAs: DType.Float64);
        using (var h = wide["h"])
        using (var b = wide["b"])
        {
            Assert.That(h.DType, Is.EqualTo(DType.Float64));
            Assert.That(h.ToArray<double>()[..F16Values.Length], Is.EqualTo(F16Values.Select(v => (double)v.Value).ToArray()));
            Assert.That(b.ToArray<double>()[..BF16Values.Length], Is.EqualTo(BF16Values.Select(v => (double)v.Value).ToArray()));
        }
        wide["n"].Dispose();

        var e = Assert.Throws<ArgumentException>(() => SafeTensors.Load(path, halfAs: DType.Int32));
        Assert.That(e!.Message, Does.Contain("halfAs is int32").And.Contain("expected float32 or float64"));
    }

    /// <summary>Saves one float32 tensor as <paramref name="to"/> and returns the data bytes, after checking the header is exactly the spec's.</summary>
    private ushort[] SavedBits(float[] values, SafeTensorsDType to)
    {
        using var t = Tensor.FromArray(values);
        var path = _folder.File($"{to}.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["t"] = t }, floatsAs: to);
        var bytes = File.ReadAllBytes(path);
        int n = values.Length;
        var expectedHeader = FileBytes($$$"""{"t":{"dtype":"{{{to}}}","shape":[{{{n}}}],"data_offsets":[0,{{{2 * n}}}]}}""", new byte[2 * n]);
        Assert.That(bytes.Length, Is.EqualTo(expectedHeader.Length));
        Assert.That(bytes[..^(2 * n)], Is.EqualTo(expectedHeader[..^(2 * n)]), "header");
        return Enumerable.Range(0, n).Select(i => BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(bytes.Length - 2 * n + 2 * i))).ToArray();
    }

    private static float Bits32(uint bits) => BitConverter.UInt32BitsToSingle(bits);

    [Test]
    public void SavingAsF16RoundsToNearestEven()
    {
        (float Value, ushort Bits)[] cases =
        [
            (1f + (float)Math.ScaleB(1, -11), 0x3C00),                       // halfway between 1 and the next F16: to even (1)
            (1f + (float)Math.ScaleB(3, -11), 0x3C02),                       // halfway between 0x3C01 and 0x3C02: to even
            (1f + (float)Math.ScaleB(1, -11) + (float)Math.ScaleB(1, -20), 0x3C01),   // just above halfway: up
            (65504f, 0x7BFF), (65519f, 0x7BFF),                               // largest finite, and just under halfway to 65536
            (65520f, 0x7C00),                                                 // halfway past the largest finite: to infinity
            ((float)Math.ScaleB(1, -25), 0x0000),                             // half the smallest subnormal: to even (zero)
            ((float)Math.ScaleB(3, -25), 0x0002),                             // 1.5 smallest subnormals: to even (2)
            ((float)Math.ScaleB(1, -25) + (float)Math.ScaleB(1, -35), 0x0001),
            ((float)Math.ScaleB(1023, -24), 0x03FF), (-1e-10f, 0x8000),       // largest subnormal; underflow keeps the sign
            (-0f, 0x8000), (float.PositiveInfinity, 0x7C00), (float.NegativeInfinity, 0xFC00), (-2.5f, 0xC100),
        ];
        var bits = SavedBits([.. cases.Select(c => c.Value), float.NaN], SafeTensorsDType.F16);
        for (int i = 0; i < cases.Length; i++)
            Assert.That(bits[i], Is.EqualTo(cases[i].Bits), $"{cases[i].Value:R} should be 0x{cases[i].Bits:X4}, got 0x{bits[i]:X4}");
        Assert.That(bits[^1] & 0x7C00, Is.EqualTo(0x7C00), "NaN stays NaN: exponent all ones...");
        Assert.That(bits[^1] & 0x03FF, Is.Not.Zero, "... and a non-zero mantissa");
    }

    [Test]
    public void SavingAsBF16RoundsToNearestEven()
    {
        (float Value, ushort Bits)[] cases =
        [
            (Bits32(0x3F808000), 0x3F80), (Bits32(0x3F818000), 0x3F82),     // ties: to even
            (Bits32(0x3F808001), 0x3F81), (Bits32(0x3F807FFF), 0x3F80),     // either side of a tie
            (Bits32(0xBF818000), 0xBF82),                                     // negative tie
            (float.MaxValue, 0x7F80), (Bits32(0x7F7F7FFF), 0x7F7F),         // past the largest BF16 rounds to infinity; just under stays
            (Bits32(0x00008000), 0x0000), (Bits32(0x00018000), 0x0002),     // subnormal ties
            (Bits32(0x007FFFFF), 0x0080),                                     // largest float32 subnormal rounds up to the smallest normal
            (-0f, 0x8000), (float.PositiveInfinity, 0x7F80), (float.NegativeInfinity, 0xFF80),
            (Bits32(0xFFC00000), 0xFFC0),                                     // a negative quiet NaN keeps its sign
        ];
        // A NaN whose payload lies only in the low 16 bits must not round to infinity (0x7F80).
        var bits = SavedBits([.. cases.Select(c => c.Value), Bits32(0x7F800001)], SafeTensorsDType.BF16);
        for (int i = 0; i < cases.Length; i++)
            Assert.That(bits[i], Is.EqualTo(cases[i].Bits), $"0x{BitConverter.SingleToUInt32Bits(cases[i].Value):X8} should be 0x{cases[i].Bits:X4}, got 0x{bits[i]:X4}");
        Assert.That(bits[^1] & 0x7F80, Is.EqualTo(0x7F80));
        Assert.That(bits[^1] & 0x007F, Is.Not.Zero, "still a NaN");
    }

    [Test]
    public void Float64TensorsRoundOnceToHalfPrecision()
    {
        // Just above a tie: via float32 these would round to the tie, then to even (down).
        using var t = Tensor.FromArray(new[] { 1 + Math.ScaleB(1, -8) + Math.ScaleB(1, -40), 1 + Math.ScaleB(1, -11) + Math.ScaleB(1, -40), 0.5 });
        var path = _folder.File("f64.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["b"] = t, ["h"] = t }, floatsAs: SafeTensorsDType.BF16);
        var bytes = File.ReadAllBytes(path);
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(bytes.Length - 12)), Is.EqualTo(0x3F81), "BF16 of 1 + 2^-8 + 2^-40 rounds up");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["h"] = t }, floatsAs: SafeTensorsDType.F16);
        bytes = File.ReadAllBytes(path);
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(bytes.Length - 4)), Is.EqualTo(0x3C01), "F16 of 1 + 2^-11 + 2^-40 rounds up");
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(bytes.Length - 2)), Is.EqualTo(0x3800));
    }

    [Test]
    public void HalfPrecisionFilesRoundTripBitForBit()
    {
        // What a published checkpoint holds, loaded and saved back in its own types: the same bytes.
        ushort[] f16 = [.. F16Values.Select(v => v.Bits), 0x7E00];
        ushort[] bf16 = [.. BF16Values.Select(v => v.Bits), 0x7FC0];
        var original = FileBytes(
            """{"b":{"dtype":"BF16","shape":[12],"data_offsets":[0,24]},"h":{"dtype":"F16","shape":[2,6],"data_offsets":[24,48]}}""",
            [.. Halves(bf16), .. Halves(f16)]);
        var path = _folder.File("published.safetensors");
        File.WriteAllBytes(path, original);
        var types = SafeTensors.ReadDTypes(path);
        var loaded = SafeTensors.Load(path);
        var again = _folder.File("again.safetensors");
        SafeTensors.Save(again, new Dictionary<string, Tensor> { ["b"] = loaded["b"] }, floatsAs: types["b"]);
        var bBytes = File.ReadAllBytes(again)[^24..];
        SafeTensors.Save(again, new Dictionary<string, Tensor> { ["h"] = loaded["h"] }, floatsAs: types["h"]);
        var hBytes = File.ReadAllBytes(again)[^24..];
        foreach (var t in loaded.Values) t.Dispose();
        Assert.That(bBytes, Is.EqualTo(Halves(bf16)));
        Assert.That(hBytes, Is.EqualTo(Halves(f16)));
    }

    [Test]
    public void SavingAsAnIntegerTypeIsRefused()
    {
        using var t = Tensor.Ones([2]);
        var path = _folder.File("int.safetensors");
        var e = Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["t"] = t }, floatsAs: SafeTensorsDType.I32));
        Assert.That(e!.Message, Does.Contain("floatsAs is I32").And.Contain("expected a floating type").And.Contain(path));
        Assert.That(File.Exists(path), Is.False, "nothing was written");
    }

    [Test]
    public void NarrowedFloatsWithOptimizerStateAreRefused()
    {
        // Adam's eps = 1e-8 is 0 in F16 and beta2 = 0.999 is 0.996 in BF16: resuming from such a file would be wrong.
        using var model = Mlp(1);
        using var eps = Tensor.Scalar(1e-8);
        var path = _folder.File("resume.safetensors");
        var e = Assert.Throws<ArgumentException>(() => Checkpoint.Save(path, model, new Dictionary<string, Tensor> { ["hyper.eps"] = eps }, floatsAs: SafeTensorsDType.F16));
        Assert.That(e!.Message, Does.Contain("Checkpoint.Save").And.Contain("floatsAs F16").And.Contain("optimizer state").And.Contain(path));
        Assert.That(File.Exists(path), Is.False, "nothing was written");
    }

    [Test]
    public void ModelSavedInBF16LoadsIntoFloat32AndFloat64Models()
    {
        using var source = Mlp(1);
        var path = _folder.File("bf16.safetensors");
        var full = _folder.File("f32.safetensors");
        Checkpoint.Save(path, source, floatsAs: SafeTensorsDType.BF16);
        Checkpoint.Save(full, source);
        Assert.That(SafeTensors.ReadDTypes(path).Values, Has.All.EqualTo(SafeTensorsDType.BF16));
        static long DataBytes(string file)
        {
            var bytes = File.ReadAllBytes(file);
            return bytes.Length - 8 - (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        }
        int count = source.Parameters().Sum(p => p.Count);
        Assert.That(DataBytes(path), Is.EqualTo(2 * count), "two bytes per weight");
        Assert.That(DataBytes(full), Is.EqualTo(4 * count));

        using var target = Mlp(2);
        var (missing, unexpected) = Checkpoint.LoadInto(path, target);
        Assert.That(missing, Is.Empty);
        Assert.That(unexpected, Is.Empty);
        var want = Weights(source);
        foreach (var (name, got) in Weights(target))
            for (int i = 0; i < got.Length; i++)
                Assert.That(got[i], Is.EqualTo(want[name][i]).Within(Math.Abs(want[name][i]) * Math.ScaleB(1, -8)), $"{name}[{i}] within half a BF16 ulp");

        using var wide = Mlp(3).To(DType.Float64);
        Checkpoint.LoadInto(path, wide);
        Assert.That(wide.Parameters().First().DType, Is.EqualTo(DType.Float64));
        Assert.That(wide.Parameters().First().ToArray<double>(), Is.EqualTo(target.Parameters().First().ToArray<float>().Select(f => (double)f)));
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
