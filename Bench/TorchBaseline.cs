using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Tensorium.Bench;

/// <summary>
/// PyTorch side by side: after BenchmarkDotNet's run, the benchmark classes that PyTorch can also
/// run (whole training steps of the examples, convolution, max-pool, softmax, attention) are run
/// again in PyTorch by <c>torch_steps.py</c> (same shapes, same models and optimizers), and a
/// table gives each case's Tensorium median, PyTorch median and their ratio (PyTorch / Tensorium:
/// above 1, Tensorium is faster). PyTorch runs on the bench's thread count with
/// OPENBLAS_NUM_THREADS=1, PyTorch's fastest setting on 2 cores: in two alternating runs of
/// <c>torch_steps.py steps</c> on the 2-core Zen 3 VM, 2 OpenBLAS threads beside its 2 OpenMP
/// threads made the matrix-heavy steps (MLP, LSTM, transformer, seq2seq) 1.4-3.8x slower (the MLP once 18x), the CNN
/// 1.2-1.3x and transfer 1.0-1.9x; only CIFAR, whose convolutions are oneDNN's, was level (0.86x
/// and 1.3x). Without a Python whose
/// <c>import torch</c> works (<c>./build.sh bench</c> installs Debian's python3-torch), the table
/// says the baseline was skipped.
/// </summary>
public static class TorchBaseline
{
    /// <summary>The script's mode for each benchmark class it mirrors.</summary>
    private static readonly Dictionary<string, string> Modes = new()
    {
        [nameof(TrainingStepBenchmarks)] = "steps",
        [nameof(ConvBenchmarks)] = "conv",
        [nameof(PoolBenchmarks)] = "pool",
        [nameof(SoftmaxBenchmarks)] = "softmax",
        [nameof(AttentionBenchmarks)] = "attention",
        [nameof(RecurrentBenchmarks)] = "recurrent",
    };

    /// <summary>One measured case: its class, the key the script uses for it, Tensorium's median.</summary>
    private sealed record Case(string Class, string Key, double TensoriumSeconds);

    /// <summary>Runs PyTorch for every mirrored case in <paramref name="summaries"/> and prints the table.</summary>
    public static void Report(IReadOnlyList<Summary> summaries, int threads)
    {
        var cases = (
            from summary in summaries
            from report in summary.Reports
            let c = report.BenchmarkCase
            let median = report.ResultStatistics?.Median ?? 0
            where median > 0 && Modes.ContainsKey(c.Descriptor.Type.Name) && c.Descriptor.WorkloadMethod.Name != "MemoryCopy"
            select new Case(c.Descriptor.Type.Name, Key(c), median / 1e9)).ToList();
        if (cases.Count == 0) return;

        Console.WriteLine();
        if (FindPython() is not string python)
        {
            Console.WriteLine("PyTorch baseline skipped: no python3 with a working 'import torch' (Debian: apt-get install python3-torch).");
            return;
        }
        var torch = new Dictionary<(string, string), double>();
        string version = "?";
        foreach (var group in cases.GroupBy(c => c.Class))
        {
            Console.WriteLine($"PyTorch baseline: {Modes[group.Key]} ({string.Join(", ", group.Select(c => c.Key))}) with {python}...");
            if (RunScript(python, Modes[group.Key], threads, group.Select(c => c.Key)) is not { } result) continue;
            version = result.Version;
            foreach (var (key, seconds) in result.Seconds) torch[(group.Key, key)] = seconds;
        }

        Console.WriteLine();
        Console.WriteLine($"Tensorium vs PyTorch {version} (CPU, {threads} threads; medians; ratio = PyTorch / Tensorium, above 1 = Tensorium faster)");
        if (cases.Any(c => c.Class != nameof(TrainingStepBenchmarks)))
            Console.WriteLine("(kernel cases: Tensorium's kernel on buffers allocated once; PyTorch's op, through its dispatch, allocating its outputs: a few microseconds a call)");
        Console.WriteLine($"{"Benchmark",-24} {"Case",-16} {"Tensorium ms",13} {"PyTorch ms",11} {"Ratio",7}");
        foreach (var c in cases)
        {
            string name = c.Class.Replace("Benchmarks", "");
            string tensorium = (c.TensoriumSeconds * 1e3).ToString("F3", CultureInfo.InvariantCulture);
            if (torch.TryGetValue((c.Class, c.Key), out double seconds))
                Console.WriteLine($"{name,-24} {c.Key,-16} {tensorium,13} {(seconds * 1e3).ToString("F3", CultureInfo.InvariantCulture),11} " +
                                  $"{(seconds / c.TensoriumSeconds).ToString("F2", CultureInfo.InvariantCulture),7}");
            else
                Console.WriteLine($"{name,-24} {c.Key,-16} {tensorium,13} {"-",11} {"-",7}");
        }
    }

    /// <summary>The script's name for a case: the model for a training step, "Forward/causal" for attention, "Forward/Lstm" for a recurrent layer, else the method.</summary>
    private static string Key(BenchmarkCase c)
    {
        string method = c.Descriptor.WorkloadMethod.Name;
        if (c.Descriptor.Type == typeof(TrainingStepBenchmarks)) return c.Parameters[nameof(TrainingStepBenchmarks.Model)]?.ToString() ?? method;
        if (c.Descriptor.Type == typeof(AttentionBenchmarks)) return $"{method}/{(Equals(c.Parameters[nameof(AttentionBenchmarks.Causal)], true) ? "causal" : "full")}";
        if (c.Descriptor.Type == typeof(RecurrentBenchmarks)) return $"{method}/{c.Parameters[nameof(RecurrentBenchmarks.Cell)]}";
        return method;
    }

    /// <summary>
    /// The first of python3 on the PATH and Debian's /usr/bin/python3 that imports torch (a pyenv
    /// or virtual-environment python3 may shadow the one Debian's python3-torch is installed for).
    /// </summary>
    internal static string? FindPython()
    {
        foreach (var candidate in new[] { "python3", "/usr/bin/python3" })
            try
            {
                using var probe = Process.Start(new ProcessStartInfo(candidate, ["-c", "import torch"])
                {
                    RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
                });
                if (probe == null) continue;
                probe.StandardError.ReadToEnd();
                probe.WaitForExit();
                if (probe.ExitCode == 0) return candidate;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed under that name: try the next.
            }
        return null;
    }

    /// <summary>
    /// The environment PyTorch runs in, here and in the alternating rounds: OPENBLAS_NUM_THREADS=1
    /// (its fastest setting on 2 cores, see the class remarks), and glibc's malloc told to keep
    /// freed memory rather than return it. By default glibc serves blocks of a few MB with mmap and
    /// unmaps them when freed, so every step faults its activations' pages in again, until its
    /// adaptive threshold happens to settle; which a process gets depends on the order of its
    /// allocations. On a 2-core Zen 4 VM, three runs of <c>torch_steps.py steps</c> each way gave
    /// CIFAR 30.9, 22.5 and 30.2 ms with the defaults and 20.3, 23.1 and 20.5 ms with these settings
    /// (PyTorch's own CPU tuning guide recommends an allocator that reuses memory, jemalloc or
    /// TCMalloc, for the same reason). So the ratios are against PyTorch's settled, faster state.
    /// </summary>
    public static void ConfigureEnvironment(ProcessStartInfo info)
    {
        info.Environment["OPENBLAS_NUM_THREADS"] = "1";
        info.Environment["MALLOC_MMAP_THRESHOLD_"] = "1073741824";   // 1 GiB: no mmap for any step's tensors
        info.Environment["MALLOC_TRIM_THRESHOLD_"] = "1073741824";   // and freed heap kept for the next step
    }

    /// <summary>Runs torch_steps.py in one mode for the given cases; its medians in seconds by case, or null (said why) when it fails.</summary>
    private static (string Version, Dictionary<string, double> Seconds)? RunScript(string python, string mode, int threads, IEnumerable<string> only)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "torch_steps.py");
        var info = new ProcessStartInfo(python, [script, mode, "--threads", threads.ToString(CultureInfo.InvariantCulture), "--only", string.Join(",", only)])
        {
            RedirectStandardOutput = true, UseShellExecute = false,
        };
        ConfigureEnvironment(info);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {python}");
        string output = process.StandardOutput.ReadToEnd();   // progress goes to stderr, straight to the console
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            Console.WriteLine($"PyTorch baseline: {script} {mode} failed (exit code {process.ExitCode}); no PyTorch figures for it.");
            return null;
        }
        using var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        var seconds = json.RootElement.GetProperty("results").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        return (json.RootElement.GetProperty("torch").GetString() ?? "?", seconds);
    }
}
