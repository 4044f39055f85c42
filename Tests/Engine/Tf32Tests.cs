namespace Tensorium.Tests.Engine;

/// <summary>The TF32 switch: on by default, and where TF32 does not apply, float32 products stay exactly float32.</summary>
[NonParallelizable]
public class Tf32SettingTests
{
    [Test]
    public void AllowTf32IsOnByDefault()
    {
        Assert.That(Float32Products.LibraryDefault, Is.True, "the library's default (the suite itself runs with TF32 off)");
    }
}

/// <summary>
/// Products of 1 + 2^-20 tell TF32 from float32: a float32 value, but not a TF32 one (TF32 keeps 10
/// mantissa bits, so it rounds to 1). K of those products sum to K (1 + 2^-19) exactly in float32
/// (the 2^-40 of each square is below float32's reach, and every partial sum is representable,
/// in any order, with or without fma) and to exactly K in TF32. The shapes are big enough for the
/// tiled kernels and the TF32 kernel alike.
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
[NonParallelizable]
public class Tf32Tests(Device device)
{
    private const int K = 32;
    private static readonly double Nudged = 1 + Math.Pow(2, -20);
    private static readonly double Float32Sum = K * (1 + Math.Pow(2, -19));

    /// <summary>What a product of K nudged terms comes to on this device now.</summary>
    private double Expected() => GpuSettings.UsesTf32(device) ? K : Float32Sum;

    private Tensor Nudges(params int[] shape) => Tensor.Full(shape, Nudged, device: device);

    /// <summary>The suite runs with TF32 off (see <see cref="Float32Products"/>); these tests run with the library's default, on.</summary>
    [SetUp]
    public void TurnTf32On() => GpuSettings.AllowTf32 = true;

    [TearDown]
    public void TurnTf32Off() => GpuSettings.AllowTf32 = false;

    [Test]
    public void Tf32NeverAppliesOffCudaOrWithTheSwitchOff()
    {
        // On CUDA, whether it applies shows in the products below (K versus the float32 sum).
        if (device.Kind != DeviceKind.Cuda)
            Assert.That(GpuSettings.UsesTf32(device), Is.False, $"{device} with AllowTf32 on");
        WithTf32(false, () => Assert.That(GpuSettings.UsesTf32(device), Is.False, $"{device} with AllowTf32 off"));
    }

    [Test]
    public void MatMulIsExactFloat32UnlessTf32Applies()
    {
        using var a = Nudges(64, K);
        using var b = Nudges(K, 48);
        AssertAll(a, b, Expected(), "64x32 @ 32x48");

        // Batched, both operands stored transposed (the kernels read them in place).
        using var at = Nudges(3, K, 40);
        using var bt = Nudges(3, 24, K);
        using var a2 = at.Transpose(1, 2);
        using var b2 = bt.Transpose(1, 2);
        AssertAll(a2, b2, Expected(), "batched transposed");
    }

    [Test]
    public void SwitchedOffMatMulIsExactFloat32Everywhere() => WithTf32(false, () =>
    {
        using var a = Nudges(64, K);
        using var b = Nudges(K, 48);
        AssertAll(a, b, Float32Sum, "64x32 @ 32x48 with AllowTf32 off");
    });

    [Test]
    public void Conv2dIsExactFloat32UnlessTf32Applies()
    {
        // 8 channels x 2 x 2 taps = 32 terms per output; im2col + GEMM of 16 x 48 outputs per image.
        using var x = Nudges(2, 8, 9, 7);
        using var w = Nudges(16, 8, 2, 2);
        using var y = x.Conv2d(w);
        Assert.That(y.Shape, Is.EqualTo(new[] { 2, 16, 8, 6 }));
        Assert.That(y.ToDoubleArray(), Is.All.EqualTo(Expected()), $"conv2d on {device}");
    }

    private void AssertAll(Tensor a, Tensor b, double expected, string what)
    {
        using var y = a.MatMul(b);
        Assert.That(y.DType, Is.EqualTo(DType.Float32));
        Assert.That(y.ToDoubleArray(), Is.All.EqualTo(expected), $"{what} on {device}");
    }

    private static void WithTf32(bool allow, Action check)
    {
        bool before = GpuSettings.AllowTf32;
        GpuSettings.AllowTf32 = allow;
        try
        {
            check();
        }
        finally
        {
            GpuSettings.AllowTf32 = before;
        }
    }
}
