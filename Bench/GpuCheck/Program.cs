using Tensorium;
using Tensorium.GpuCheck;

// gpu-check: every op on every device against the CPU (a parity table), then the kernel
// benchmarks per device. Options: --parity-only, --bench-only, --device <cpu|opencl:N|cuda:N>.
// `gpu-check cnn --data DIR --device cuda [--epochs N]` trains the Fashion-MNIST CNN example instead.
if (args.Length > 0 && args[0] == "cnn") return CnnExample.Run(ExampleOptions.Parse(args[1..]));
bool parity = !args.Contains("--bench-only"), bench = !args.Contains("--parity-only");
int deviceArg = Array.IndexOf(args, "--device");
var devices = Device.Available().Where(d => d.Device.Kind != DeviceKind.Cpu).ToList();
if (deviceArg >= 0 && deviceArg + 1 < args.Length)
{
    var wanted = Device.Parse(args[deviceArg + 1]);
    devices = devices.Where(d => d.Device == wanted).ToList();
}

Console.WriteLine("Devices present:");
foreach (var d in Device.Available()) Console.WriteLine($"  {d}");
if (devices.Count == 0)
{
    Console.WriteLine("No OpenCL or CUDA device to check (the CPU is the reference).");
    return 1;
}

int failures = 0;
if (parity)
{
    Console.WriteLine();
    Console.WriteLine($"{"Parity against the CPU",-36} {"device",-9} {"max err",9} {"tol",8}  result");
    foreach (var d in devices)
        foreach (var c in ParityCases.All)
        {
            var r = Parity.Run(c, d.Device);
            if (!r.Passed) failures++;
            Console.WriteLine($"{r.Case,-36} {r.Device,-9} {r.MaxError,9:0.0e+0} {r.Tolerance,8:0.0e+0}  {(r.Passed ? "ok" : "FAIL " + r.Failure)}");
        }
    Console.WriteLine($"Parity: {devices.Count * ParityCases.All.Count - failures} passed, {failures} failed.");
}

if (bench)
{
    Console.WriteLine();
    Console.WriteLine($"{"Benchmark",-36} {"device",-9} {"ms",9} {"rate",14} {"reference",-14} {"ref ms",9} {"ref/ours",8}");
    foreach (var d in devices)
        foreach (var (name, run) in GpuBenchmarks.For(d))
        {
            BenchResult r;
            try
            {
                using var scope = new TensorScope();
                r = run();
            }
            catch (Exception e)
            {
                failures++;
                Console.WriteLine($"{name,-36} {d.Device,-9} FAIL {e.GetType().Name}: {e.Message.Split('\n')[0]}");
                continue;
            }
            string reference = r.Reference == null ? "" : $"{r.Reference,-14} {r.ReferenceMilliseconds,9:0.000} {r.Ratio,8:0.00}";
            Console.WriteLine($"{r.Name,-36} {r.Device,-9} {r.Milliseconds,9:0.000} {r.Rate,8:0.0} {r.Unit,-5} {reference}");
        }
}
return failures == 0 ? 0 : 1;
