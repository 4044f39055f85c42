using System.Text.RegularExpressions;
using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Gpu.Cuda;
using Tensorium.Kernels.Gpu.OpenCl;

namespace Tensorium.Tests.Engine;

/// <summary>
/// The shared GPU kernel source as shipped (the embedded resources): the dialect rule, the
/// variants line, the CUDA compile check through NVRTC (no GPU needed), CUDA's behaviour on a
/// machine without a driver, the compiled-program disk cache and GPU timing.
/// </summary>
public class GpuSourceTests
{
    /// <summary>Words only prelude.h may use: each dialect's own spelling of what the prelude names once (float4 included: kernels use REAL4, whose alignment rule the prelude states).</summary>
    private static readonly string[] RawWords =
    [
        "__kernel", "__global", "__local", "__shared__", "__syncthreads", "barrier(", "get_local_id", "get_group_id",
        "get_global_id", "get_local_size", "get_num_groups", "threadIdx", "blockIdx", "blockDim", "gridDim",
        "__device__", "__global__", "mul_hi", "__umulhi", "size_t", "INFINITY", "uint", "ulong",
        "__launch_bounds__", "vload4", "vstore4", "float4",
    ];

    private static readonly string[] CudaArchitectures = ["compute_80", "compute_90"];

    /// <summary>Every .gpu file shipped, with its text.</summary>
    private static IEnumerable<(string File, string Text)> GpuFiles() =>
        KernelSource.Files.Select(f => (f, KernelSource.Text(f + ".gpu")));

    /// <summary>Comments replaced by spaces, line breaks kept (so line numbers still match).</summary>
    private static string WithoutComments(string text) =>
        Regex.Replace(text, @"/\*.*?\*/|//[^\n]*", m => Regex.Replace(m.Value, @"[^\n]", " "), RegexOptions.Singleline);

    [Test]
    public void KernelFilesAreEmbedded()
    {
        Assert.That(KernelSource.Files, Does.Contain("memory"));
        Assert.That(KernelSource.Text("prelude.h"), Does.Contain("TS_PRELUDE"));
    }

    [Test]
    public void NoRawDialectWordsOutsidePrelude()
    {
        var patterns = RawWords.Select(w => (Word: w, Pattern: new Regex(
            w.EndsWith('(') ? $@"(?<![\w]){Regex.Escape(w[..^1])}\s*\(" : $@"(?<![\w]){Regex.Escape(w)}(?![\w])"))).ToArray();
        var problems = new List<string>();
        foreach (var (file, text) in GpuFiles())
        {
            var lines = WithoutComments(text).Split('\n');
            for (int i = 0; i < lines.Length; i++)
                foreach (var (word, pattern) in patterns)
                    if (pattern.IsMatch(lines[i]))
                        problems.Add($"{file}.gpu:{i + 1}: '{word}' (use the prelude's name for it): {lines[i].Trim()}");
        }
        Assert.That(problems, Is.Empty, "raw dialect words outside prelude.h:\n" + string.Join('\n', problems));
    }

    [Test]
    public void EveryFileStartsWithVariantsLine()
    {
        foreach (var (file, text) in GpuFiles())
        {
            Assert.That(text.Split('\n')[0], Does.StartWith("// variants:"), $"{file}.gpu's first line must list its compile variants");
            var variants = KernelSource.Variants(text);
            Assert.That(variants, Is.Not.Empty, $"{file}.gpu");
            Assert.That(variants.All(v => v.Length > 0), $"{file}.gpu has an empty variant (two '|' in a row?)");
        }
    }

    [Test]
    public void KernelNamesAndVariantsParse()
    {
        string memory = KernelSource.Text("memory.gpu");
        Assert.That(KernelSource.KernelNames(memory), Is.EqualTo(new[] { "fill", "arange", "copy_strided" }));
        Assert.That(KernelSource.KernelNames(KernelSource.Compose("memory", KernelDialect.Cuda)), Is.EqualTo(new[] { "fill", "arange", "copy_strided" }));
        Assert.That(KernelSource.KernelNames("KERNEL_BOUNDED(THREADS, 2) big(int x) {}\nKERNEL small(int x) {}"), Is.EqualTo(new[] { "big", "small" }));
        Assert.That(KernelSource.KernelNames(KernelSource.Compose("gemm", KernelDialect.Cuda)), Does.Contain("gemm_large"));
        Assert.That(KernelSource.Variants("// variants: A=1 B | C=float\nKERNEL f(int x)"),
            Is.EqualTo(new[] { new[] { "A=1", "B" }, new[] { "C=float" } }));
        Assert.That(KernelSource.Variants("/* no variants */\n"), Is.Empty);
    }

    /// <summary>One case per (file, variant, architecture); a file without a variants line still compiles once, with no defines.</summary>
    public static IEnumerable<TestCaseData> CudaCases() =>
        from f in GpuFiles()
        from variant in KernelSource.Variants(f.Text) is { Count: > 0 } variants ? variants : [[]]
        from arch in CudaArchitectures
        select new TestCaseData(f.File, string.Join(' ', variant), arch).SetArgDisplayNames(f.File, string.Join(' ', variant), arch);

    [TestCaseSource(nameof(CudaCases))]
    public void CompilesAsCuda(string file, string defines, string arch)
    {
        if (Nvrtc.UnavailableReason is { } reason) Assert.Ignore(reason);
        string[] options = [$"--gpu-architecture={arch}", .. defines.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(d => "-D" + d)];
        var result = Nvrtc.Compile(KernelSource.Compose(file, KernelDialect.Cuda), file + ".gpu", options);
        Assert.That(result.Success, $"NVRTC {Nvrtc.Version} ({string.Join(' ', options)}):\n{result.Log}");
        Assert.That(result.Log, Does.Not.Contain("warning"), $"NVRTC {Nvrtc.Version} ({string.Join(' ', options)}) warns:\n{result.Log}");
        Assert.That(result.Ptx, Is.Not.Null.And.Not.Empty);
        string ptx = System.Text.Encoding.UTF8.GetString(result.Ptx!);
        // At least one kernel kept its plain (extern "C") name, so the runtime can find it by name.
        Assert.That(KernelSource.KernelNames(KernelSource.Text(file + ".gpu")).Any(name => ptx.Contains(".entry " + name + "(", StringComparison.Ordinal)),
            $"no kernel of {file}.gpu appears under its plain name in the PTX: are they declared with KERNEL?");
    }

    [Test]
    public void NvrtcReportsItselfOrWhyNot()
    {
        if (Nvrtc.UnavailableReason is { } reason)
        {
            Assert.That(reason, Does.StartWith("NVRTC not found"));
            Assert.Ignore(reason);
        }
        Assert.That(Nvrtc.Version.Major, Is.GreaterThanOrEqualTo(11));
        var archs = Nvrtc.SupportedArchitectures;
        Assert.That(archs, Does.Contain(80));
        Assert.That(Nvrtc.Architecture(8, 0), Is.EqualTo("compute_80"));
        Assert.That(Nvrtc.Architecture(8, 6), Is.EqualTo(archs.Contains(86) ? "compute_86" : "compute_80"));
        Assert.That(Nvrtc.Architecture(99, 0), Is.EqualTo($"compute_{archs[^1]}"), "newer GPUs get the newest PTX this NVRTC makes");
        Assert.Throws<NotSupportedException>(() => Nvrtc.Architecture(1, 0));
        var bad = Nvrtc.Compile("extern \"C\" __global__ void k(int x) { undeclared(x); }", "bad.cu", ["--gpu-architecture=compute_80"]);
        Assert.That(bad.Success, Is.False);
        Assert.That(bad.Log, Does.Contain("undeclared"));
    }

    [Test]
    public void CudaWithoutDriverFailsClearly()
    {
        Assert.DoesNotThrow(() => Device.Available());
        Assert.DoesNotThrow(() => _ = Device.Default);
        if (CudaRuntime.UnavailableReason() is not { } reason || !reason.StartsWith("no CUDA driver", StringComparison.Ordinal))
            Assert.Ignore("a CUDA driver is present: " + (CudaRuntime.UnavailableReason() ?? $"{CudaRuntime.DeviceCount()} device(s)"));
        Assert.That(Device.Available().Where(d => d.Device.Kind == DeviceKind.Cuda), Is.Empty);
        Assert.That(CudaRuntime.DeviceCount(), Is.Zero);
        Assert.That(CudaRuntime.DescribeDevices(), Is.Empty);
        for (int attempt = 0; attempt < 2; attempt++)   // the failure is not cached as something else
            Ref.Throws<InvalidOperationException>(() => _ = Device.Cuda(0).Pool, "cuda:0", "no CUDA driver");
        Ref.Throws<InvalidOperationException>(() => Tensor.Zeros([2], device: Device.Cuda(1)).Dispose(), "cuda:1", "no CUDA driver");
        Ref.Throws<InvalidOperationException>(() => new CudaRuntime(3).Dispose(), "cuda:3", "no CUDA driver");
    }

    [Test]
    public void ProgramCacheRoundTripsAndRejectsDamage()
    {
        string dir = FreshDirectory();
        try
        {
            var cache = new ProgramCache(dir);
            string key = ProgramCache.Key("source", ["A=1"], "device", "driver 1", KernelDialect.OpenCL);
            Assert.That(key, Has.Length.EqualTo(64));
            Assert.That(ProgramCache.Key("source", ["A=2"], "device", "driver 1", KernelDialect.OpenCL), Is.Not.EqualTo(key));
            Assert.That(ProgramCache.Key("source", ["A=1"], "device", "driver 2", KernelDialect.OpenCL), Is.Not.EqualTo(key));
            Assert.That(ProgramCache.Key("source", ["A=1"], "device", "driver 1", KernelDialect.Cuda), Is.Not.EqualTo(key));
            Assert.That(ProgramCache.Key("sourc", ["eA=1"], "device", "driver 1", KernelDialect.OpenCL), Is.Not.EqualTo(key));
            Assert.That(cache.TryRead(key), Is.Null);

            cache.Write(key, [1, 2, 3]);
            Assert.That(cache.TryRead(key), Is.EqualTo(new byte[] { 1, 2, 3 }));
            Assert.That(Directory.GetFiles(dir), Has.Length.EqualTo(1), "one entry, no temporary files left");

            var bytes = File.ReadAllBytes(cache.PathOf(key)!);
            bytes[^1] ^= 0xFF;
            File.WriteAllBytes(cache.PathOf(key)!, bytes);
            Assert.That(cache.TryRead(key), Is.Null, "a payload failing its checksum is not returned");
            Assert.That(File.Exists(cache.PathOf(key)!), Is.False, "and is deleted");
            File.WriteAllBytes(cache.PathOf(key)!, [9]);
            Assert.That(cache.TryRead(key), Is.Null, "a truncated file is not returned");
            Assert.That((cache.Reads, cache.Writes, cache.Discarded), Is.EqualTo((1L, 1L, 2L)));

            var off = new ProgramCache(null);
            off.Write(key, [1]);
            Assert.That(off.TryRead(key), Is.Null);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void OpenClProgramsComeFromTheDiskCache()
    {
        if (OpenClRuntime.Devices().Count == 0) Assert.Ignore(OpenClRuntime.NoDevicesReason());
        string dir = FreshDirectory();
        string[] defines = ["ELEM=float", "REAL=float"];
        try
        {
            var first = new ProgramCache(dir);
            using (var runtime = new OpenClRuntime(0, first)) FillAndCheck(runtime, 1.5f);
            Assert.That((first.Reads, first.Writes), Is.EqualTo((0L, 1L)), "the first compile writes the binary");
            var entries = Directory.GetFiles(dir);
            Assert.That(entries, Has.Length.EqualTo(1));

            var second = new ProgramCache(dir);
            using (var runtime = new OpenClRuntime(0, second)) FillAndCheck(runtime, 2.5f);
            Assert.That((second.Reads, second.Writes, second.Discarded), Is.EqualTo((1L, 0L, 0L)), "a second runtime builds from the cached binary");
            Assert.That(Directory.GetFiles(dir), Is.EqualTo(entries));

            // Damaged on disk: the checksum catches it and the program is rebuilt from source.
            File.WriteAllBytes(entries[0], [.. File.ReadAllBytes(entries[0]).Take(100)]);
            var third = new ProgramCache(dir);
            using (var runtime = new OpenClRuntime(0, third)) FillAndCheck(runtime, 3.5f);
            Assert.That((third.Reads, third.Writes, third.Discarded), Is.EqualTo((0L, 1L, 1L)));

            // Intact on disk but not a binary the driver takes: rejected by the driver, rebuilt.
            string key = Path.GetFileNameWithoutExtension(entries[0]);
            third.Write(key, "not a program binary"u8);
            var fourth = new ProgramCache(dir);
            using (var runtime = new OpenClRuntime(0, fourth)) FillAndCheck(runtime, 4.5f);
            Assert.That((fourth.Reads, fourth.Writes, fourth.Discarded), Is.EqualTo((1L, 1L, 1L)));

            var fifth = new ProgramCache(dir);
            using (var runtime = new OpenClRuntime(0, fifth)) FillAndCheck(runtime, 5.5f);
            Assert.That((fifth.Reads, fifth.Writes), Is.EqualTo((1L, 0L)), "the rebuilt entry is good again");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        void FillAndCheck(GpuRuntime runtime, float value)
        {
            var kernel = runtime.Kernel("memory", "fill", defines);
            nint buffer = runtime.Allocate(100 * sizeof(float));
            try
            {
                runtime.Launch(kernel, (1, 1, 1), (128, 1, 1), new KernelArgs().Buffer(buffer).Int(0).Int(100).Float(value));
                var data = new float[100];
                runtime.Read(buffer, 0, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
                Assert.That(data, Is.All.EqualTo(value));
            }
            finally
            {
                runtime.Free(buffer);
            }
        }
    }

    [Test]
    public void OpenClTimesQueuedWork()
    {
        if (OpenClRuntime.Devices().Count == 0) Assert.Ignore(OpenClRuntime.NoDevicesReason());
        using var runtime = new OpenClRuntime(0);
        var kernel = runtime.Kernel("memory", "fill", "ELEM=float", "REAL=float");
        nint buffer = runtime.Allocate(1 << 20);
        try
        {
            int n = (1 << 20) / sizeof(float);
            double ms = runtime.TimeMilliseconds(() =>
                runtime.Launch(kernel, (n / 256, 1, 1), (256, 1, 1), new KernelArgs().Buffer(buffer).Int(0).Int(n).Float(1)));
            Assert.That(ms, Is.GreaterThan(0).And.LessThan(60_000));
        }
        finally
        {
            runtime.Free(buffer);
        }
    }

    private static string FreshDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "tensorium-cache-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
