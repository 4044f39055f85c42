using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Bench;

/// <summary>
/// Winograd F(2x2, 3x3) against the im2col paths it replaces, on the same convolutions in
/// alternating rounds in one run (<c>./build.sh bench --alternating winograd</c>): the evidence for
/// where <c>Conv2d</c> takes Winograd (docs/kernels/winograd.md). Each pass whose shape takes
/// Winograd is timed with it and with it switched off; a pass that does not take it is listed
/// as such.
/// </summary>
public static unsafe class AlternatingWinograd
{
    /// <summary>The examples' 3x3 layers with channels enough, and two shapes on either side of the rules.</summary>
    private static readonly (string Name, Conv2dGeometry Geometry)[] Layers =
    [
        ("cnn conv2 32->64 13x13", new Conv2dGeometry(64, 32, 13, 13, 64, 3, 3)),
        ("cifar conv2 32->64 15x15", new Conv2dGeometry(64, 32, 15, 15, 64, 3, 3)),
        ("cifar conv3 64->64 6x6", new Conv2dGeometry(64, 64, 6, 6, 64, 3, 3)),
        ("64->64 8x8", new Conv2dGeometry(64, 64, 8, 8, 64, 3, 3)),
        ("32->32 32x32 pad 1", new Conv2dGeometry(64, 32, 32, 32, 32, 3, 3, PadH: 1, PadW: 1)),
    ];

    /// <summary>Prints, per layer and pass, both medians, their ratio and the rounds' own ratios.</summary>
    public static void Run()
    {
        int threads = BenchSettings.Threads;
        CpuParallel.Threads = threads;
        Console.WriteLine($"Conv2d, Winograd against im2col, {threads} threads, {AlternatingRounds.Rounds} alternating rounds per pass (medians)");
        Console.WriteLine("µs per call; ratio = im2col / Winograd of the medians, then the median and spread (3rd to 9th of 11) of the rounds' own ratios");
        Console.WriteLine($"{"layer",-26} {"pass",-8} {"Winograd",9} {"im2col",9} {"ratio",7} {"rounds",8} {"middle",11}");
        bool original = Conv2d.UseWinograd;
        foreach (var (name, g) in Layers)
        {
            long x = g.Batch * g.InImage, y = g.Batch * g.OutImage, w = (long)g.OutChannels * g.ColumnRows;
            float* input = NativeBuffers.Random<float>(x), gradInput = NativeBuffers.Random<float>(x, 3);
            float* output = NativeBuffers.Random<float>(y), gradOutput = NativeBuffers.Random<float>(y, 7);
            float* weight = NativeBuffers.Random<float>(w), gradWeight = NativeBuffers.Random<float>(w, 5);
            float* bias = NativeBuffers.Random<float>(g.OutChannels), gradBias = NativeBuffers.Random<float>(g.OutChannels, 9);
            try
            {
                var passes = new (string Pass, bool Tiles, Action Work)[]
                {
                    ("forward", Conv2d.UsesWinograd<float>(g, inputGradient: false), () => Conv2d.Forward(g, input, weight, bias, output)),
                    ("input", Conv2d.UsesWinograd<float>(g, inputGradient: true), () => Conv2d.BackwardInput(g, gradOutput, weight, gradInput)),
                    ("weight", Conv2d.UsesWinograd<float>(g, inputGradient: false), () => Conv2d.BackwardWeight(g, input, gradOutput, gradWeight, gradBias)),
                };
                foreach (var (pass, taken, work) in passes)
                {
                    if (!taken)
                    {
                        Console.WriteLine($"{name,-26} {pass,-8} {"-",9} {"",9} (im2col: not taken)");
                        continue;
                    }
                    int calls = AlternatingRounds.CallsFor(work, 0.2);
                    var r = AlternatingRounds.Run($"{name} {pass}", Switched(true, work, calls), Switched(false, work, calls));
                    Console.WriteLine($"{name,-26} {pass,-8} {r.OursSeconds * 1e6,9:F0} {r.ReferenceSeconds * 1e6,9:F0} {r.Ratio,7:F2} {r.RoundRatio,8:F2} {$"{r.LowRatio:F2}-{r.HighRatio:F2}",11}");
                }
            }
            finally
            {
                Conv2d.UseWinograd = original;
                foreach (var p in new[] { input, gradInput, output, gradOutput, weight, gradWeight, bias, gradBias }) NativeBuffers.Free(p);
            }
        }
    }

    /// <summary>A timer for <paramref name="work"/> with Winograd switched on or off around it.</summary>
    private static Func<double> Switched(bool winograd, Action work, int calls)
    {
        var timer = AlternatingRounds.Timer(work, calls);
        return () =>
        {
            Conv2d.UseWinograd = winograd;
            return timer();
        };
    }
}
