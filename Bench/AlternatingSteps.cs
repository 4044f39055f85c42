using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Tensorium.Kernels.Cpu;

namespace Tensorium.Bench;

/// <summary>
/// Each example's training step against PyTorch's, timed in alternating rounds in one run
/// (<c>./build.sh bench --alternating steps</c>): Tensorium's step in this process, PyTorch's in
/// one <c>torch_steps.py --serve</c> process that times on request (see <see cref="AlternatingRounds"/>
/// for why, next to <c>./build.sh bench TrainingStep</c>).
/// </summary>
public static class AlternatingSteps
{
    /// <summary>The speed-up over PyTorch every example's training step aims for (1.5x), drawn on the chart.</summary>
    private const double SpeedGoal = 1.5;

    /// <summary>Prints, per model, both medians, their ratio and the rounds' own ratios, and draws them (<see cref="AlternatingChart"/>).</summary>
    public static void Run()
    {
        int threads = BenchSettings.Threads;
        CpuParallel.Threads = threads;
        if (TorchBaseline.FindPython() is not string python)
        {
            Console.WriteLine("PyTorch baseline skipped: no python3 with a working 'import torch' (Debian: apt-get install python3-torch).");
            return;
        }
        using var torch = new TorchServer(python, "steps", threads);
        Console.WriteLine($"Training steps, Tensorium vs PyTorch {torch.Version}, {threads} threads, {AlternatingRounds.Rounds} alternating rounds per model");
        Console.WriteLine("ms per step (medians); ratio = PyTorch / Tensorium of the medians, then the median and spread (3rd to 9th of 11) of the rounds' own ratios");
        Console.WriteLine($"{"model",-12} {"Tensorium",10} {"PyTorch",10} {"ratio",7} {"rounds",8} {"middle",11}");
        var results = new List<(string, AlternatingResult)>();
        foreach (string model in TrainingStepBenchmarks.Models())
        {
            var bench = new TrainingStepBenchmarks { Model = model };
            bench.Setup();   // builds the model and warms it up
            try
            {
                int calls = AlternatingRounds.CallsFor(bench.Step, 0.3);   // about 0.3 s of Tensorium's steps per timing
                torch.Time(model, calls);   // PyTorch builds and warms up its model on first use
                var r = AlternatingRounds.Run(model,
                    AlternatingRounds.Timer(bench.Step, calls),
                    () => { double seconds = torch.Time(model, calls); AlternatingRounds.Pause(); return seconds; });
                Console.WriteLine($"{model,-12} {r.OursSeconds * 1e3,10:F3} {r.ReferenceSeconds * 1e3,10:F3} {r.Ratio,7:F2} {r.RoundRatio,8:F2} {$"{r.LowRatio:F2}-{r.HighRatio:F2}",11}");
                results.Add((model, r));
            }
            finally
            {
                bench.Cleanup();
            }
        }
        string chart = AlternatingChart.Write("alternating-steps", $"Training steps, Tensorium vs PyTorch {torch.Version}: {threads} threads, {AlternatingRounds.Rounds} alternating rounds per model",
            "PyTorch", SpeedGoal, results);
        Console.WriteLine($"chart: {chart}");
    }

    /// <summary>A <c>torch_steps.py MODE --serve</c> process: cases timed on request, one line each way.</summary>
    private sealed class TorchServer : IDisposable
    {
        private readonly Process _process;

        /// <summary>PyTorch's version, from the script's first line.</summary>
        public string Version { get; }

        public TorchServer(string python, string mode, int threads)
        {
            string script = Path.Combine(AppContext.BaseDirectory, "torch_steps.py");
            var info = new ProcessStartInfo(python, [script, mode, "--serve", "--threads", threads.ToString(CultureInfo.InvariantCulture)])
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false,
            };
            TorchBaseline.ConfigureEnvironment(info);   // as TorchBaseline runs it: PyTorch at its best
            _process = Process.Start(info) ?? throw new InvalidOperationException($"AlternatingSteps: could not start {python} {script}.");
            try
            {
                string line = ReadLine();
                try
                {
                    using var header = JsonDocument.Parse(line);
                    Version = header.RootElement.GetProperty("torch").GetString() ?? "?";
                }
                catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
                {
                    throw new InvalidOperationException($"AlternatingSteps: torch_steps.py --serve should first print {{\"torch\": version, ...}}, got '{line}'.", e);
                }
            }
            catch
            {
                Dispose();   // no Python process is left running behind a failed start
                throw;
            }
        }

        /// <summary>PyTorch's seconds per call of <paramref name="name"/> over <paramref name="calls"/> back-to-back calls.</summary>
        public double Time(string name, int calls)
        {
            _process.StandardInput.WriteLine($"{name} {calls}");
            _process.StandardInput.Flush();
            string line = ReadLine();
            return double.TryParse(line, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0
                ? seconds
                : throw new InvalidOperationException($"AlternatingSteps: torch_steps.py --serve should answer '{name} {calls}' with seconds per call, got '{line}'.");
        }

        private string ReadLine() =>
            _process.StandardOutput.ReadLine()
            ?? throw new InvalidOperationException($"AlternatingSteps: torch_steps.py --serve ended (exit code {(_process.WaitForExit(5000) ? _process.ExitCode : -1)}); its error is above.");

        public void Dispose()
        {
            _process.StandardInput.Close();   // the script ends when its input does
            if (!_process.WaitForExit(10_000)) _process.Kill();
            _process.Dispose();
        }
    }
}
