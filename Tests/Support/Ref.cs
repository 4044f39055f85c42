namespace Tensorium.Tests.Support;

/// <summary>Small helpers for the op suite: building tensors from doubles, index math for references, float64 leaves on a device.</summary>
public static class Ref
{
    /// <summary>
    /// The awkward 3-d shape of the elementwise and reduction suites on <paramref name="device"/>:
    /// [67, 45, 33] (about 10^5 elements, enough to reach the CPU kernels' SIMD tails and thread
    /// splits), and [13, 9, 7] on the emulated device, which steps its host threads through every
    /// element (about 2 us each); odd, distinct extents still reach the GPU kernels' index arithmetic.
    /// </summary>
    public static int[] AwkwardShape(Device device) => device == Device.Emulated ? [13, 9, 7] : [67, 45, 33];

    /// <summary>Number of elements of a shape.</summary>
    public static int Count(int[] shape) => shape.Aggregate(1, (a, b) => a * b);

    /// <summary>A tensor of <paramref name="dtype"/> holding <paramref name="values"/> (converted) on a device.</summary>
    public static Tensor Make(double[] values, int[] shape, Device device, DType dtype = DType.Float32) => dtype switch
    {
        DType.Float32 => Tensor.FromSpan<float>(values.Select(v => (float)v).ToArray(), shape, device),
        DType.Float64 => Tensor.FromSpan<double>(values, shape, device),
        DType.Int32 => Tensor.FromSpan<int>(values.Select(v => (int)v).ToArray(), shape, device),
        _ => Tensor.FromSpan<long>(values.Select(v => (long)v).ToArray(), shape, device),
    };

    /// <summary>Values as stored in float32 (rounded), for references computed from float inputs.</summary>
    public static double[] AsFloat(double[] values) => values.Select(v => (double)(float)v).ToArray();

    /// <summary>Builds a row-major array of <paramref name="shape"/> from a function of the multi-index.</summary>
    public static double[] Build(int[] shape, Func<int[], double> f) =>
        Enumerable.Range(0, Count(shape)).Select(i => f(Reference.Unravel(i, shape))).ToArray();

    /// <summary>Element at a multi-index of a row-major array.</summary>
    public static double Get(double[] data, int[] shape, params int[] index)
    {
        int flat = 0;
        for (int i = 0; i < shape.Length; i++)
        {
            if (index[i] < 0 || index[i] >= shape[i]) throw new IndexOutOfRangeException($"reference index {index[i]} out of range in dim {i}");
            flat = flat * shape[i] + index[i];
        }
        return data[flat];
    }

    /// <summary>A float64 leaf on <paramref name="device"/> that requires a gradient; values map(uniform[-1, 1)).</summary>
    public static Tensor Leaf(int[] shape, Device device, int seed = 1, Func<double, double>? map = null)
    {
        var v = Reference.Values(Count(shape), seed);
        if (map != null) v = v.Select(map).ToArray();
        var t = Tensor.FromSpan<double>(v, shape, device);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>Maps u in [-1, 1) away from zero: |result| in [0.25, 1.25).</summary>
    public static double AwayFromZero(double u) => u < 0 ? u - 0.25 : u + 0.25;

    /// <summary>Maps u in [-1, 1) to [0.5, 1.5).</summary>
    public static double Positive(double u) => u * 0.5 + 1.0;

    /// <summary>Asserts <paramref name="action"/> throws <typeparamref name="TEx"/> (or a subclass) whose message contains every fragment.</summary>
    public static TEx Throws<TEx>(TestDelegate action, params string[] fragments) where TEx : Exception
    {
        var ex = Assert.Catch<TEx>(action)!;
        foreach (var f in fragments)
            Assert.That(ex.Message, Does.Contain(f), $"message should mention '{f}'");
        return ex;
    }
}
