using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using Tensorium.Kernels.Cpu;
using Tensorium.Profiling;

namespace Tensorium.Tests.Engine;

/// <summary>
/// The profiler: which ops it records (forward and backward, with shapes, FLOPs and bytes), that
/// nothing is recorded and nothing is wrapped when it is off, nested and disposed sessions, its
/// table, and its Chrome trace checked against the trace-event format.
/// </summary>
[NonParallelizable]   // a session records every thread's ops: no other test may run beside these
public class ProfilerTests
{
    internal static readonly MachinePeaks FixedPeaks = new(Threads: 2, Gflops: 100, CopyGBytesPerSecond: 10);

    [Test]
    public void RecordsForwardAndBackwardOpsWithShapesAndFlops()
    {
        using var x = Ref.Leaf([3, 4], Device.Cpu);
        using var w = Ref.Leaf([4, 5], Device.Cpu, seed: 2);
        Profiler profile;
        using (profile = Profiler.Start())
        {
            using var y = x.MatMul(w);
            using var e = y.Exp();
            using var s = e.Sum();
            s.Backward();
        }
        var ops = profile.Ops;
        var forward = ops.Single(op => op.Name == "MatMul" && op.Phase == ProfilePhase.Forward);
        Assert.That(forward.Shapes, Is.EqualTo("[3, 4] x [4, 5]"));
        Assert.That(forward.Flops, Is.EqualTo(2.0 * 3 * 5 * 4));
        Assert.That(forward.Bytes, Is.EqualTo(8 * (12 + 20 + 15)));
        Assert.That(forward.DType, Is.EqualTo(DType.Float64));
        Assert.That(forward.Device, Is.EqualTo(Device.Cpu));
        Assert.That(forward.ThreadId, Is.EqualTo(Profiler.ThreadTrack));

        var exp = ops.Single(op => op.Name == "Unary.Exp");
        Assert.That((exp.Phase, exp.Shapes, exp.Flops, exp.Bytes), Is.EqualTo((ProfilePhase.Forward, "[3, 5]", 15.0, 8L * 30)));

        // dx = dy wᵀ: [3, 5] x [5, 4]; dw = xᵀ dy: [4, 3] x [3, 5]; each 2·3·4·5 FLOPs, in the backward phase.
        var backward = ops.Where(op => op.Name == "MatMul" && op.Phase == ProfilePhase.Backward).ToList();
        Assert.That(backward.Select(op => op.Shapes), Is.EquivalentTo(new[] { "[3, 5] x [5, 4]", "[4, 3] x [3, 5]" }));
        Assert.That(backward.Select(op => op.Flops), Is.All.EqualTo(120.0));
        Assert.That(ops.Where(op => op.Phase == ProfilePhase.Backward).Select(op => op.Name), Does.Contain("Binary.Mul"));   // exp's backward
        Assert.That(ops, Is.All.Matches<ProfiledOp>(op => op.Duration >= TimeSpan.Zero && op.Start >= TimeSpan.Zero));
        Assert.That(Profiler.InBackward, Is.False, "the tape leaves the phase flag as it found it");
    }

    [Test]
    public void ConvolutionFlopsComeFromTheGeometryInEveryDirection()
    {
        using var x = Ref.Leaf([2, 3, 7, 6], Device.Cpu);
        using var w = Ref.Leaf([4, 3, 3, 2], Device.Cpu, seed: 2);
        Profiler profile;
        using (profile = Profiler.Start())
        {
            using var y = x.Conv2d(w, null, stride: 1, padding: 1);
            using var s = y.Sum();
            s.Backward();
        }
        // Output [2, 4, 7, 7]; each output element is a dot product over 3·3·2 taps.
        double flops = 2.0 * 2 * 4 * 7 * 7 * (3 * 3 * 2);
        Assert.That(profile.Ops.Single(op => op.Name == "Conv2d").Flops, Is.EqualTo(flops));
        Assert.That(profile.Ops.Single(op => op.Name == "Conv2dBackwardInput").Flops, Is.EqualTo(flops));
        Assert.That(profile.Ops.Single(op => op.Name == "Conv2dBackwardWeight").Flops, Is.EqualTo(flops));
        Assert.That(profile.Ops.Single(op => op.Name == "Conv2d").Shapes, Is.EqualTo("[2, 3, 7, 6] x [4, 3, 3, 2]"));
    }

    [Test]
    public void RecordsNothingAndWrapsNothingWhenOff()
    {
        Assert.That(Device.Cpu.Backend, Is.SameAs(CpuBackend.Instance), "no profiler: the device's own backend");
        var profile = Profiler.Start();
        Assert.That(Device.Cpu.Backend, Is.InstanceOf<ProfilingBackend>());
        using (var a = Tensor.FromArray(new float[] { 1, 2, 3 }))
        using (var b = a.Exp()) { }
        profile.Dispose();
        int recorded = profile.Ops.Count;
        Assert.That(recorded, Is.GreaterThan(0));
        Assert.That(Device.Cpu.Backend, Is.SameAs(CpuBackend.Instance));
        using (var a = Tensor.FromArray(new float[] { 1, 2, 3 }))
        using (var b = a.Exp()) { }
        Assert.That(profile.Ops.Count, Is.EqualTo(recorded), "a closed session records nothing more");
        Assert.That(profile.IsRecording, Is.False);
    }

    [Test]
    public void NestedSessionsEachSeeWhatRanWhileTheyWereOpen()
    {
        using var x = Tensor.FromArray(new float[] { 1, 2, 3 });
        using var outer = Profiler.Start();
        x.Exp().Dispose();
        var inner = Profiler.Start();
        x.Log().Dispose();
        inner.Dispose();
        inner.Dispose();   // twice is harmless
        x.Sqrt().Dispose();
        outer.Dispose();
        Assert.That(inner.Ops.Select(op => op.Name), Is.EqualTo(new[] { "Unary.Log" }));
        Assert.That(outer.Ops.Select(op => op.Name), Is.EqualTo(new[] { "Unary.Exp", "Unary.Log", "Unary.Sqrt" }));
        Assert.That(inner.Ops[0].Start, Is.LessThan(outer.Ops[1].Start), "each session counts time from its own start");
        Assert.That(Device.Cpu.Backend, Is.SameAs(CpuBackend.Instance));
    }

    [Test]
    public void ABroadcastInputCountsTheBytesItReadsOnce()
    {
        using var x = Tensor.Uniform([3, 5]);
        using var bias = Tensor.Uniform([5]);
        using var scale = Tensor.Uniform([3, 1]);
        Profiler profile;
        using (profile = Profiler.Start())
        {
            x.Add(bias).Dispose();
            x.Mul(scale).Dispose();
        }
        // x and the output are 15 float32 each; the bias is read as [3, 5] with stride 0 on its rows but holds 5 values, the scale 3.
        Assert.That(profile.Ops.Single(op => op.Name == "Binary.Add").Bytes, Is.EqualTo(4L * (15 + 5 + 15)));
        Assert.That(profile.Ops.Single(op => op.Name == "Binary.Mul").Bytes, Is.EqualTo(4L * (15 + 3 + 15)));
    }

    [Test]
    public void MeasuringPeaksLeavesTheKernelThreadSettingAlone()
    {
        int setting = CpuParallel.Threads;
        int other = setting == 1 ? 2 : 1;
        bool changed = false;
        var measuring = Task.Run(() => MachinePeaks.Measure(other));
        while (!measuring.IsCompleted)
        {
            // Every kernel that runs meanwhile (the serving batcher's, another test's) reads this setting.
            changed |= CpuParallel.Threads != setting;
            Thread.Sleep(1);
        }
        var peaks = measuring.Result;
        Assert.That(changed, Is.False, "a measurement changed CpuParallel.Threads while other kernels ran");
        Assert.That(CpuParallel.Threads, Is.EqualTo(setting));
        Assert.That((peaks.Threads, peaks.Gflops > 0, peaks.CopyGBytesPerSecond > 0), Is.EqualTo((other, true, true)));
    }

    [Test]
    public void TheTableGroupsCallsByOpAndShapeSlowestFirst()
    {
        using var x = Tensor.Uniform([64, 64]);
        using var small = Tensor.Uniform([4]);
        Profiler profile;
        using (profile = Profiler.Start())
        {
            for (int i = 0; i < 3; i++) x.MatMul(x).Dispose();
            small.Exp().Dispose();
        }
        var rows = ProfileTable.Rows(profile);
        var matmul = rows.Single(r => r.Name == "MatMul");
        Assert.That(matmul.Calls, Is.EqualTo(3));
        Assert.That(matmul.Flops, Is.EqualTo(3 * 2.0 * 64 * 64 * 64));
        Assert.That(rows.Select(r => r.Total), Is.Ordered.Descending);
        double atRoofs = Math.Max(matmul.Flops / 100e9, matmul.Bytes / 10e9);
        Assert.That(matmul.RoofFraction(FixedPeaks), Is.EqualTo(atRoofs / matmul.Total.TotalSeconds).Within(1e-9));

        string table = profile.Table(peaks: FixedPeaks);
        Assert.That(table, Does.Contain("FMA peak 100.0 GFLOP/s (float32; half that for float64), memory copy 10.0 GB/s"));
        Assert.That(table, Does.Contain("[64, 64] x [64, 64]"));
        Assert.That(table, Does.Contain("Unary.Exp"));
    }

    [Test]
    public void TheChartDrawsTheSlowestRowsAsBarsWithARoofGauge()
    {
        using var x = Tensor.Uniform([64, 64]);
        x.RequiresGrad = true;
        using var small = Tensor.Uniform([4]);
        Profiler profile;
        using (profile = Profiler.Start())
        using (new TensorScope())
        {
            for (int i = 0; i < 3; i++) x.MatMul(x).Sum().Backward();
            small.Exp();
        }
        var rows = ProfileTable.Rows(profile);
        var svg = System.Xml.Linq.XDocument.Parse(profile.Chart("a <test> & more", top: 3, peaks: FixedPeaks));
        System.Xml.Linq.XNamespace ns = "http://www.w3.org/2000/svg";
        string Class(System.Xml.Linq.XElement e) => (string?)e.Attribute("class") ?? "";
        double Width(System.Xml.Linq.XElement e) => double.Parse((string)e.Attribute("width")!, System.Globalization.CultureInfo.InvariantCulture);

        // One time bar per row, the three slowest, longest first, the first full length.
        var bars = svg.Descendants(ns + "rect").Where(e => Class(e) == "time").ToList();
        Assert.That(bars, Has.Count.EqualTo(3));
        Assert.That(bars.Select(Width), Is.Ordered.Descending);
        Assert.That(Width(bars[0]), Is.EqualTo(420));
        Assert.That(Width(bars[2]) / Width(bars[0]), Is.EqualTo(rows[2].Total / rows[0].Total).Within(1e-3));
        // Backward rows are drawn in the backward colour.
        Assert.That(rows.Take(3).Select(r => r.Phase == ProfilePhase.Backward),
            Is.EqualTo(bars.Select(b => (string)b.Attribute("fill")! == "#e8863a")));
        // Every CPU row has a gauge no longer than the bar's full length, scaled by its roof share.
        var gauges = svg.Descendants(ns + "rect").Where(e => Class(e) == "roof").ToList();
        Assert.That(gauges.Select(Width), Is.EqualTo(rows.Take(3).Select(r => 420 * Math.Clamp(r.RoofFraction(FixedPeaks)!.Value, 0, 1))).Within(0.06));
        // The labels name each row's op, and the title survives XML escaping.
        string text = string.Join("\n", svg.Descendants(ns + "text").Select(t => t.Value));
        foreach (var r in rows.Take(3)) Assert.That(text, Does.Contain(r.Name));
        Assert.That(text, Does.Contain("a <test> & more"));
        Assert.That(text, Does.Contain($"the 3 slowest rows of {rows.Count}"));
    }

    [Test]
    public void TheTableSaysWhenAnOpRanAboveTheFmaPeak()
    {
        using var x = Tensor.Uniform([64, 64]);
        Profiler profile;
        using (profile = Profiler.Start()) x.MatMul(x).Dispose();
        // Roofs as a busy machine might have measured them: far below what any MatMul reaches.
        var lowPeaks = new MachinePeaks(1, 1e-6, 10);
        Assert.That(profile.Table(peaks: lowPeaks), Does.Contain("The roofs look low: MatMul ran at").And.Contain(MachinePeaks.CacheFile));
        Assert.That(profile.Table(peaks: new MachinePeaks(1, 1e9, 10)), Does.Not.Contain("look low"));
    }

    [Test]
    public void CachedRoofsAreKeyedByTheVectorIsaAndTheThreads()
    {
        // Two VMs both named "AMD EPYC", one AVX2-only and one with AVX-512, must not share roofs.
        string key = MachinePeaks.CacheKey(2);
        Assert.That(key, Does.Contain("|2 threads").And.Contain(Avx2.IsSupported ? "|AVX" : "-bit|"));
        Assert.That(MachinePeaks.CacheKey(1), Is.Not.EqualTo(key));
    }

    /// <summary>
    /// The trace against the trace-event format (JSON object form): every event has a string name
    /// and phase and integer pid and tid; complete events have a category, a timestamp and a
    /// non-negative duration in microseconds and an args object; metadata events name the process
    /// and every thread that has events; each thread's timestamps only go forward.
    /// </summary>
    [Test]
    public void TheChromeTraceFollowsTheTraceEventFormat()
    {
        using var x = Ref.Leaf([8, 8], Device.Cpu);
        Profiler profile;
        using (profile = Profiler.Start())
        {
            using (new TensorScope())
                x.MatMul(x).Tanh().Sum().Backward();
            // A second thread gets a track of its own.
            var worker = new Thread(() =>
            {
                using (new TensorScope()) Tensor.Uniform([16]).Exp();
            }) { Name = "worker" };
            worker.Start();
            worker.Join();
        }
        using var stream = new MemoryStream();
        ChromeTrace.Write(profile, stream);
        using var document = JsonDocument.Parse(stream.ToArray());

        var events = document.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
        var lastStart = new Dictionary<long, double>();
        var named = new HashSet<long>();
        int complete = 0;
        foreach (var e in events)
        {
            Assert.That(e.GetProperty("name").ValueKind, Is.EqualTo(JsonValueKind.String));
            Assert.That(e.GetProperty("pid").TryGetInt64(out _), Is.True);
            Assert.That(e.GetProperty("tid").TryGetInt64(out long tid), Is.True);
            string phase = e.GetProperty("ph").GetString()!;
            Assert.That(phase, Is.AnyOf("X", "M"));
            Assert.That(e.GetProperty("args").ValueKind, Is.EqualTo(JsonValueKind.Object));
            if (phase == "M")
            {
                Assert.That(e.GetProperty("name").GetString(), Is.AnyOf("process_name", "thread_name"));
                Assert.That(e.GetProperty("args").GetProperty("name").ValueKind, Is.EqualTo(JsonValueKind.String));
                if (e.GetProperty("name").GetString() == "thread_name") named.Add(tid);
                continue;
            }
            complete++;
            Assert.That(e.GetProperty("cat").GetString(), Is.AnyOf("forward", "backward"));
            double ts = e.GetProperty("ts").GetDouble(), dur = e.GetProperty("dur").GetDouble();
            Assert.That(dur, Is.GreaterThanOrEqualTo(0));
            Assert.That(ts, Is.GreaterThanOrEqualTo(lastStart.GetValueOrDefault(tid, 0)), $"thread {tid}'s timestamps go back");
            lastStart[tid] = ts;
            Assert.That(named, Does.Contain(tid), "a thread's name comes before its events");
        }
        Assert.That(complete, Is.EqualTo(profile.Ops.Count));
        Assert.That(lastStart.Keys, Has.Count.EqualTo(2), "the test thread and the worker");
        Assert.That(events.Any(e => e.GetProperty("ph").GetString() == "M" && e.GetProperty("args").GetProperty("name").GetString() == "worker"));
        Assert.That(events.Any(e => e.TryGetProperty("cat", out var c) && c.GetString() == "backward"));
    }

    [Test]
    public void ThreadsThatComeAndGoKeepTracksOfTheirOwn()
    {
        using var x = Tensor.Uniform([16]);
        Profiler profile;
        using (profile = Profiler.Start())
            for (int i = 0; i < 4; i++)
            {
                // One after another: the runtime hands an ended thread's managed id to the next one.
                var loader = new Thread(() => x.Exp().Dispose()) { Name = $"loader-{i}" };
                loader.Start();
                loader.Join();
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        var tracks = profile.Ops.Select(op => op.ThreadId).ToList();
        Assert.That(tracks.Distinct().Count(), Is.EqualTo(4), "one track per thread");
        Assert.That(tracks.Select(t => profile.ThreadNames[t]), Is.EqualTo(new[] { "loader-0", "loader-1", "loader-2", "loader-3" }));
    }

    [Test]
    public void OpsOnSeveralThreadsAtOnceAreNotCountedAsMoreThanTheWallTime()
    {
        using var x = Tensor.Uniform([96, 96]);
        using var start = new Barrier(2);
        Profiler profile;
        using (profile = Profiler.Start())
            Parallel.For(0, 2, new ParallelOptions { MaxDegreeOfParallelism = 2 }, _ =>
            {
                start.SignalAndWait();
                for (int i = 0; i < 30; i++) x.MatMul(x).Dispose();
            });
        string header = profile.Table(peaks: FixedPeaks).Split('\n')[0];
        var share = System.Text.RegularExpressions.Regex.Match(header, @"\((\d+)% of the time an op was running");
        Assert.That(share.Success, Is.True, header);
        Assert.That(int.Parse(share.Groups[1].Value), Is.InRange(1, 100), header);
        Assert.That(header, Does.Contain("on 2 threads"));
    }

    [Test]
    public void BadArgumentsAreRefusedNamingWhatWasWrong()
    {
        using var profile = Profiler.Start();
        Assert.That(() => ChromeTrace.Write(null!, new MemoryStream()), Throws.ArgumentNullException);
        Assert.That(() => ChromeTrace.Write(profile, (Stream)null!), Throws.ArgumentNullException);
        Assert.That(() => profile.Table(top: -1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("got -1"));
    }

    /// <summary>On a GPU device the profiler synchronises around each op, so it records device time, and names the device.</summary>
    [Test]
    public void RecordsOpsOnTheEmulatedDevice()
    {
        using var x = Ref.Leaf([16, 8], Device.Emulated);
        Profiler profile;
        using (profile = Profiler.Start())
        {
            using var xt = x.Transpose(0, 1);
            using var y = x.MatMul(xt);
            using var s = y.Sum();
            s.Backward();
        }
        var matmuls = profile.Ops.Where(op => op.Name == "MatMul").ToList();
        Assert.That(matmuls.Select(op => op.Phase), Is.EquivalentTo(new[] { ProfilePhase.Forward, ProfilePhase.Backward, ProfilePhase.Backward }));
        Assert.That(matmuls, Is.All.Matches<ProfiledOp>(op => op.Device == Device.Emulated && op.Duration > TimeSpan.Zero));
        Assert.That(matmuls[0].Flops, Is.EqualTo(2.0 * 16 * 16 * 8));
        Assert.That(profile.Table(), Does.Contain("float64, emulated"));
    }
}
