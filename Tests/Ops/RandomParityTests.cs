using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Ops;

/// <summary>
/// Random draws are the same on every device: the same Generator seed gives the same Philox words,
/// hence the same uniform and Bernoulli values bit for bit (dropout draws its mask on whichever
/// device the activations live on and must agree with the CPU), and normal values up to the last
/// bit of log and cos. On the cpu fixture the comparisons check the CPU against a scalar reference.
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class RandomParityTests(Device device)
{
    private const ulong Seed = 0xDEADBEEF_CAFEF00DUL;   // both key words non-zero

    /// <summary>The CPU's formula for element i of a draw, one element at a time (no threads, no tensors).</summary>
    private static double Expected(RandomKind kind, ulong seed, ulong offset, int i, double a, double b, DType dtype)
    {
        double v;
        switch (kind)
        {
            case RandomKind.Uniform:
                v = a + (b - a) * Philox.ToUnit(Philox.Word(seed, offset + (ulong)i));
                break;
            case RandomKind.Normal:
                double u1 = Philox.ToUnit(Philox.Word(seed, offset + 2 * (ulong)i)), u2 = Philox.ToUnit(Philox.Word(seed, offset + 2 * (ulong)i + 1));
                v = a + b * (Math.Sqrt(-2 * Math.Log(1 - u1)) * Math.Cos(2 * Math.PI * u2));
                break;
            default:
                v = Philox.ToUnit(Philox.Word(seed, offset + (ulong)i)) < a ? 1 : 0;
                break;
        }
        return dtype == DType.Float32 ? (float)v : v;
    }

    /// <summary>Exact for uniform and Bernoulli; normal within 1e-6 relative (float32) or 1e-13 (float64), plus 1e-12 absolute near zero.</summary>
    private static void AssertSame(double[] actual, double[] expected, RandomKind kind, DType dtype, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        double rel = kind != RandomKind.Normal ? 0 : dtype == DType.Float32 ? 1e-6 : 1e-13;
        double abs = kind != RandomKind.Normal ? 0 : 1e-12;
        for (int i = 0; i < actual.Length; i++)
        {
            bool same = rel == 0
                ? BitConverter.DoubleToInt64Bits(actual[i]) == BitConverter.DoubleToInt64Bits(expected[i])
                : Math.Abs(actual[i] - expected[i]) <= rel * Math.Abs(expected[i]) + abs;
            if (!same) Assert.Fail($"{what}: element {i} is {actual[i]:R}, expected {expected[i]:R}.");
        }
    }

    private static Tensor Draw(RandomKind kind, int[] shape, double a, double b, Generator g, DType dtype, Device d) => kind switch
    {
        RandomKind.Uniform => Tensor.Uniform(shape, a, b, g, dtype, d),
        RandomKind.Normal => Tensor.Normal(shape, a, b, g, dtype, d),
        _ => Tensor.Bernoulli(shape, a, g, dtype, d),
    };

    [TestCase("Uniform", -3.7, 12.1)]
    [TestCase("Uniform", 0, 1)]
    [TestCase("Normal", 0, 1)]
    [TestCase("Normal", 0.5, 2)]
    [TestCase("Bernoulli", 0.3, 0)]
    [TestCase("Bernoulli", 0.5, 0)]
    public void SameGeneratorSeedGivesTheCpuDraw(string kindName, double a, double b)
    {
        var kind = Enum.Parse<RandomKind>(kindName);
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            // Two successive draws from one generator on each device: the second starts mid-stream.
            var gCpu = new Generator(Seed);
            var gDev = new Generator(Seed);
            foreach (var shape in new[] { new[] { 37, 113 }, new[] { 3, 5 } })
            {
                using var onCpu = Draw(kind, shape, a, b, gCpu, dtype, Device.Cpu);
                using var onDevice = Draw(kind, shape, a, b, gDev, dtype, device);
                Assert.That(onDevice.DType, Is.EqualTo(dtype));
                AssertSame(onDevice.ToDoubleArray(), onCpu.ToDoubleArray(), kind, dtype, $"{kind} {dtype} [{string.Join(", ", shape)}] on {device} vs cpu");
            }
            Assert.That(gDev.Offset, Is.EqualTo(gCpu.Offset));
        }
    }

    [TestCase("Uniform", -1.5, 2.25)]
    [TestCase("Normal", -0.25, 3)]
    [TestCase("Bernoulli", 0.7, 0)]
    public void AnyOffsetMatchesTheScalarReference(string kindName, double a, double b)
    {
        var kind = Enum.Parse<RandomKind>(kindName);
        // Offsets that are not whole blocks (a normal pair then straddles two blocks), offsets near 2^32
        // and past 2^34 (where the block counter's high word is in use), and counts around the block and
        // work-group sizes.
        ulong[] offsets = [0, 1, 2, 3, 5, (1UL << 32) - 1, (1UL << 34) + 7, (1UL << 40) + 1];
        int[] counts = [1, 2, 3, 4, 5, 255, 256, 257, 1031];
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
            foreach (var offset in offsets)
                foreach (var n in counts)
                {
                    using var t = Tensor.Empty([n], dtype, device);
                    t.Backend("test").Random(t, kind, Seed, offset, a, b);
                    var expected = Enumerable.Range(0, n).Select(i => Expected(kind, Seed, offset, i, a, b, dtype)).ToArray();
                    AssertSame(t.ToDoubleArray(), expected, kind, dtype, $"{kind} {dtype} offset {offset} count {n} on {device}");
                }
    }

    [Test]
    public void DrawIntoAViewWithAnOffset()
    {
        // The kernel writes at the tensor's element offset and nowhere else.
        using var whole = Tensor.Zeros([4, 10], DType.Float64, device);
        using var rows = whole.Narrow(0, 1, 2);   // contiguous, offset 10
        rows.Backend("test").Random(rows, RandomKind.Uniform, Seed, 4, 0, 1);
        var v = whole.ToDoubleArray();
        Assert.That(v.Take(10), Is.All.EqualTo(0));
        Assert.That(v.Skip(30), Is.All.EqualTo(0));
        var expected = Enumerable.Range(0, 20).Select(i => Expected(RandomKind.Uniform, Seed, 4, i, 0, 1, DType.Float64)).ToArray();
        AssertSame(v.Skip(10).Take(20).ToArray(), expected, RandomKind.Uniform, DType.Float64, "uniform into rows 1..2");
    }
}
