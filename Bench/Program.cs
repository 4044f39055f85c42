using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Environments;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains;
using BenchmarkDotNet.Toolchains.CsProj;
using BenchmarkDotNet.Toolchains.DotNetCli;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Tensorium.Bench;

// Let OpenBLAS pick its kernels for this CPU: some environments pin OPENBLAS_CORETYPE (e.g. to
// Haswell) which would make the baseline run something other than its best code. This must happen
// before anything touches the OpenBlas class (its static constructor loads the library).
// TENSORIUM_OPENBLAS_CORETYPE pins it on purpose: with DOTNET_EnableAVX512=0 and Haswell, an
// AVX-512 machine compares both libraries' AVX2 code.
NativeEnvironment.Set("OPENBLAS_CORETYPE", Environment.GetEnvironmentVariable("TENSORIUM_OPENBLAS_CORETYPE") is { Length: > 0 } core ? core : null);
Console.WriteLine(OpenBlas.Message);
if (args is ["--serving", ..])
{
    // A load run against the serving host (not a BenchmarkDotNet benchmark: it stops after N requests).
    Environment.ExitCode = ServingLoad.Run(args[1..]);
    return;
}
if (args is ["--profile", var profiled, ..])
{
    // One example's training step under the profiler: the op table, and files when a path is given.
    TrainingStepBenchmarks.Profile(profiled, args.Length > 2 ? args[2] : null);
    return;
}
if (args is ["--alternating", ..])
{
    // GEMM against OpenBLAS, ("steps") each example's training step against PyTorch's, or
    // ("winograd") the convolutions' Winograd passes against im2col, in alternating rounds
    // (TENSORIUM_BENCH_MODELS picks the models).
    if (args.Length == 1) { if (OpenBlas.IsAvailable) AlternatingGemm.Run(); }
    else if (args is [_, "steps"]) AlternatingSteps.Run();
    else if (args is [_, "winograd"]) AlternatingWinograd.Run();
    else
    {
        Console.Error.WriteLine($"Bench --alternating: expected nothing (GEMM), 'steps' or 'winograd', got '{string.Join(' ', args[1..])}'.");
        Environment.ExitCode = 2;
    }
    return;
}

// "--quick": in this process (nothing is built, so it can run while other builds are paused) with
// fewer iterations: for a short, quiet comparison run, not for figures to keep.
bool quick = args.Contains("--quick");
args = [.. args.Where(a => a != "--quick")];
int threads = BenchSettings.Threads;
var job = Job.Default
    .WithLaunchCount(1)
    .WithWarmupCount(3)
    .WithIterationCount(7)
    .WithEnvironmentVariables(
        // Benchmarks run in child processes; give them the same OpenBLAS setup as measured here:
        // the detected core type (not an inherited override) and the shared thread count.
        new EnvironmentVariable("OPENBLAS_CORETYPE", OpenBlas.IsAvailable ? OpenBlas.CoreName : ""),
        new EnvironmentVariable("OPENBLAS_NUM_THREADS", threads.ToString()),
        new EnvironmentVariable(BenchSettings.ThreadsVariable, threads.ToString()))
    .WithToolchain(BenchProjectGenerator.Toolchain())
    .WithId($"{threads}threads");
if (quick)
    job = job.WithWarmupCount(2).WithIterationCount(5).WithToolchain(InProcessEmitToolchain.Instance).WithId($"{threads}threads-quick");

var config = DefaultConfig.Instance
    .AddJob(job.AsDefault())
    .AddColumn(ThroughputColumn.GFlops, ThroughputColumn.GBytes)
    .WithOrderer(new PairedOrderer());

if (!OpenBlas.IsAvailable)
    config = config.AddFilter(new SimpleFilter(b => !b.Descriptor.HasCategory(BenchSettings.ReferenceCategory)));

var summaries = BenchmarkSwitcher.FromAssembly(typeof(BenchSettings).Assembly).Run(args, config).ToList();
Roofline.Write(summaries, threads);
TorchBaseline.Report(summaries, threads);

namespace Tensorium.Bench
{
    /// <summary>Settings every benchmark class shares.</summary>
    public static class BenchSettings
    {
        /// <summary>Environment variable holding the thread count (default 2) for Tensorium and the reference library.</summary>
        public const string ThreadsVariable = "TENSORIUM_BENCH_THREADS";

        /// <summary>Category of benchmarks that call a reference library; skipped when it is missing.</summary>
        public const string ReferenceCategory = "Reference";

        /// <summary>Threads both Tensorium and the reference use, so the ratio compares like with like.</summary>
        public static int Threads =>
            int.TryParse(Environment.GetEnvironmentVariable(ThreadsVariable), out int t) && t > 0 ? t : 2;
    }

    /// <summary>
    /// BenchmarkDotNet builds each benchmark run from the project whose file name matches the
    /// assembly name; ours is Bench.csproj building Tensorium.Bench.dll, so point it at the right file.
    /// </summary>
    public sealed class BenchProjectGenerator(string targetFramework)
        : CsProjGenerator(targetFramework, cliPath: null!, packagesPath: null!, runtimeFrameworkVersion: null!, isNetCore: true)
    {
        /// <summary>The default .NET toolchain for the running runtime, with this generator.</summary>
        public static IToolchain Toolchain()
        {
            string tfm = $"net{Environment.Version.Major}.{Environment.Version.Minor}";
            return new Toolchain($"{tfm} (Bench.csproj)", new BenchProjectGenerator(tfm),
                new DotNetCliBuilder(tfm, customDotNetCliPath: null!, logOutput: false), new DotNetCliExecutor(customDotNetCliPath: null!));
        }

        /// <summary>Finds Bench.csproj in the output folder's ancestors, else falls back to the default search.</summary>
        protected override FileInfo GetProjectFilePath(Type benchmarkTarget, ILogger logger)
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                var project = new FileInfo(Path.Combine(dir.FullName, "Bench.csproj"));
                if (project.Exists) return project;
            }
            return base.GetProjectFilePath(benchmarkTarget, logger);
        }
    }
}
