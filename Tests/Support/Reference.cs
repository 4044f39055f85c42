namespace Tensorium.Tests.Support;

/// <summary>Plain scalar references and helpers for op tests: no SIMD, no threads, obviously right.</summary>
public static class Reference
{
    /// <summary>Deterministic pseudo-random values in [-1, 1) (independent of the engine's generator).</summary>
    public static double[] Values(int count, int seed = 1)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
    }

    /// <summary>A float32 tensor with <see cref="Values"/> on a device.</summary>
    public static Tensor Random(int[] shape, Device device, int seed = 1, DType dtype = DType.Float32)
    {
        var v = Values(shape.Aggregate(1, (a, b) => a * b), seed);
        return dtype == DType.Float64
            ? Tensor.FromSpan<double>(v, shape, device)
            : Tensor.FromSpan<float>(v.Select(x => (float)x).ToArray(), shape, device);
    }

    /// <summary>Row-major strides.</summary>
    public static int[] Strides(int[] shape)
    {
        var s = new int[shape.Length];
        int acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
        return s;
    }

    /// <summary>Multi-index of flat position <paramref name="flat"/> in <paramref name="shape"/>.</summary>
    public static int[] Unravel(int flat, int[] shape)
    {
        var idx = new int[shape.Length];
        for (int i = shape.Length - 1; i >= 0; i--) { idx[i] = flat % shape[i]; flat /= shape[i]; }
        return idx;
    }

    /// <summary>Flat position in <paramref name="shape"/> of the broadcast multi-index <paramref name="outIndex"/>.</summary>
    public static int BroadcastFlat(int[] outIndex, int[] shape)
    {
        int lead = outIndex.Length - shape.Length, flat = 0;
        for (int i = 0; i < shape.Length; i++) flat = flat * shape[i] + (shape[i] == 1 ? 0 : outIndex[i + lead]);
        return flat;
    }

    /// <summary>Asserts elementwise closeness with a message naming the first bad element.</summary>
    public static void AssertClose(double[] actual, double[] expected, double atol = 1e-5, double rtol = 1e-4, string what = "")
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{what}: element count");
        for (int i = 0; i < actual.Length; i++)
        {
            bool ok = double.IsNaN(expected[i]) ? double.IsNaN(actual[i])
                : actual[i] == expected[i] || Math.Abs(actual[i] - expected[i]) <= atol + rtol * Math.Abs(expected[i]);
            if (!ok) Assert.Fail($"{what}: element {i}: got {actual[i]:G9}, expected {expected[i]:G9}");
        }
    }

    /// <summary>
    /// How many elements of each input a gradient check perturbs on a device other than the CPU.
    /// The CPU fixture of the same test checks every element; on the other devices the backward
    /// kernels are the new code under test, and a sample spread over each input (both ends
    /// included) reaches them for a fraction of the launches (on the emulated device each launch
    /// is a rendezvous of its host threads).
    /// </summary>
    public const int GradientSamplesOffCpu = 4;

    /// <summary>The <c>elementsPerInput</c> of a gradient check on <paramref name="device"/>: every element on the CPU, <see cref="GradientSamplesOffCpu"/> elsewhere.</summary>
    public static int? GradientSamples(Device device) => device == Device.Cpu ? null : GradientSamplesOffCpu;

    /// <summary>Asserts that <see cref="GradCheck.Check"/> passes, with <see cref="GradientSamples"/> of the inputs' device.</summary>
    public static void AssertGradients(Func<Tensor[], Tensor> f, params Tensor[] inputs)
    {
        // GradCheck takes its inputs on one device.
        var problem = GradCheck.Check(f, inputs, elementsPerInput: GradientSamples(inputs.FirstOrDefault()?.Device ?? Device.Cpu));
        Assert.That(problem, Is.Null, problem);
    }

    /// <summary>
    /// The CPU pool's live-buffer count once finalizers have run: tensors other tests dropped
    /// without Dispose free their memory from the finalizer thread at random moments, which would
    /// otherwise change the count in the middle of a leak test.
    /// </summary>
    public static long SettledLiveBuffers()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return Device.Cpu.Pool.LiveBuffers;
    }

    /// <summary>A float64 CPU leaf with values from <see cref="Values"/> that requires a gradient.</summary>
    public static Tensor Leaf(int[] shape, int seed = 1, double scale = 1)
    {
        var t = Tensor.FromSpan<double>(Values(shape.Aggregate(1, (a, b) => a * b), seed).Select(v => v * scale).ToArray(), shape);
        t.RequiresGrad = true;
        return t;
    }
}
