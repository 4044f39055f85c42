using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Kernels.Gpu;

/// <summary>
/// The ILGPU elementwise family (and the optimizer, pool and indexing kernels registered beside it)
/// on the emulated device, where the op suite does not already reach a path: random fills at
/// every Philox block alignment (a normal pair that straddles two blocks, draws shorter than a
/// block), where with three differently broadcast operands, a layout too deep to merge, and the
/// registry that the PTX test compiles. The rest of the family runs in the shared op suite
/// (ElementwiseParityTests, RandomParityTests, UnaryTests, BinaryTests, IndexingTests,
/// DeviceNeuralOpTests). Shapes are tiny: the CPU accelerator costs about 2 us per thread.
/// </summary>
public class ElementwiseTests
{
    private static readonly Device Emulated = Device.Emulated;
    private static readonly DType[] AllDTypes = [DType.Float32, DType.Float64, DType.Int32, DType.Int64];

    [Test]
    public void EveryFamilyKernelIsRegisteredForThePtxTest()
    {
        var names = KernelRegistry.All().Select(k => k.ToString()).ToList();
        int Count(string prefix) => names.Count(n => n.StartsWith(prefix, StringComparison.Ordinal));
        // 16 unary ops x 2 float types; 13 shared binary ops x 4 types + float division x 2.
        Assert.That(Count("Elementwise.Unary<"), Is.EqualTo(32));
        Assert.That(Count("Elementwise.Binary<"), Is.EqualTo(54));
        Assert.That(Count("Elementwise.DivideChecked<"), Is.EqualTo(2));
        Assert.That(Count("Elementwise.Where<"), Is.EqualTo(4));
        Assert.That(Count("RandomFill.Fill<"), Is.EqualTo(2));
        Assert.That(Count("Optim."), Is.EqualTo(8));
        Assert.That(Count("Pool.MaxPool2d"), Is.EqualTo(4));
        Assert.That(Count("Indexing."), Is.EqualTo(20));
        Assert.That(names, Does.Contain("Elementwise.Unary<Double, GeluGradDouble>"));
    }

    [Test]
    public void RandomFillsMatchTheCpuAtEveryBlockAlignment(
        [Values(RandomKind.Uniform, RandomKind.Normal, RandomKind.Bernoulli)] RandomKind kind,
        [Values(DType.Float32, DType.Float64)] DType dtype)
    {
        const ulong seed = 0x0123_4567_89AB_CDEFUL;
        double a = kind == RandomKind.Bernoulli ? 0.4 : -1.25, b = 3.5;
        // Offsets 0..5 start at each word of a block (and past it); lengths 1..6 end inside a block,
        // at its end, or in the next one. A normal element reads two words, so with an odd offset
        // its pair can straddle two blocks.
        for (ulong offset = 0; offset < 6; offset++)
            for (int count = 1; count <= 6; count++)
            {
                using var cpu = Tensor.Empty([count], dtype, Device.Cpu);
                using var emulated = Tensor.Empty([count], dtype, Emulated);
                cpu.Backend("test").Random(cpu, kind, seed, offset, a, b);
                emulated.Backend("test").Random(emulated, kind, seed, offset, a, b);
                // The CPU accelerator runs the same C# math, so even normal draws agree to the bit.
                Assert.That(emulated.ToDoubleArray(), Is.EqualTo(cpu.ToDoubleArray()), $"{kind} {dtype} offset {offset} count {count}");
            }
    }

    [Test]
    public void WhereBroadcastsThreeDifferentlyShapedOperands([ValueSource(nameof(AllDTypes))] DType dtype)
    {
        // cond [3, 1, 5], a [4, 1] and b [5] broadcast to [3, 4, 5]: each operand has a stride 0 somewhere else.
        double[] cond = Enumerable.Range(0, 15).Select(i => (double)(i % 3 == 0 ? 0 : i % 2)).ToArray();
        double[] a = [1, -2, 3, -4], bValues = [10, 20, 30, 40, 50];
        int[] shape = [3, 4, 5];

        double[] Run(Device on)
        {
            using var c = Ref.Make(cond, [3, 1, 5], on, dtype);
            using var x = Ref.Make(a, [4, 1], on, dtype);
            using var z = Ref.Make(bValues, [5], on, dtype);
            using var cView = c.View(c.Layout.Expand(shape), "test");
            using var xView = x.View(x.Layout.Expand(shape), "test");
            using var zView = z.View(z.Layout.Expand(shape), "test");
            using var y = Tensor.Empty(shape, dtype, on);
            y.Backend("test").Where(cView, xView, zView, y);
            return y.ToDoubleArray();
        }

        Assert.That(Run(Emulated), Is.EqualTo(Run(Device.Cpu)));
    }

    [Test]
    public void ALayoutDeeperThanTheKernelsTakeIsRefusedNamingTheOp()
    {
        // Nine dims of 2, reversed: no two neighbours merge, and the kernels take eight.
        int[] shape = Enumerable.Repeat(2, 9).ToArray();
        using var x = Tensor.Zeros(shape, DType.Float32, Emulated);
        using var view = x.Permute(Enumerable.Range(0, 9).Reverse().ToArray());
        using var y = Tensor.Empty(view.Shape, DType.Float32, Emulated);
        var e = Assert.Throws<NotSupportedException>(() => y.Backend("test").Unary(UnaryOp.Exp, view, y, 0, 0));
        Assert.That(e!.Message, Does.Contain("exp").And.Contain("9"));
    }
}
