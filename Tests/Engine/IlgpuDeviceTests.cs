namespace Tensorium.Tests.Engine;

/// <summary>
/// The devices on ILGPU: the emulated device's name and availability, and the device list and
/// "no such device" errors that CUDA and OpenCL get once they move onto ILGPU (on a machine
/// without a GPU those are the cases that must fail clearly, never crash).
/// </summary>
public class IlgpuDeviceTests
{
    [TestCase("emulated")]
    [TestCase(" Emulated ")]
    public void TheEmulatedDeviceParsesAndPrints(string text)
    {
        var device = Device.Parse(text);
        Assert.That(device, Is.EqualTo(Device.Emulated));
        Assert.That(device.Kind, Is.EqualTo(DeviceKind.Emulated));
        Assert.That(device.ToString(), Is.EqualTo("emulated"));
        Assert.That(Device.TryParse("emulated:1", out _), Is.False);
    }

    [Test]
    public void TheEmulatedDeviceIsListedButNeverTheDefault()
    {
        Assert.That(Device.Emulated.IsAvailable, Is.True);
        Assert.That(Device.Available().Select(d => d.Device), Does.Contain(Device.Emulated));
        Assert.That(Device.Default, Is.Not.EqualTo(Device.Emulated));
    }

    [Test]
    public void TheIlgpuDeviceListStartsWithTheCpuAndEndsWithTheEmulatedDevice()
    {
        var list = IlgpuContext.Describe();
        Assert.That(list[0].Device, Is.EqualTo(Device.Cpu));
        Assert.That(list[^1].Device, Is.EqualTo(Device.Emulated));
        Assert.That(list[^1].IsGpu, Is.False);
        Assert.That(list.Select(d => d.Device).Distinct().Count(), Is.EqualTo(list.Count));
    }

    [TestCase(DeviceKind.Cuda)]
    [TestCase(DeviceKind.OpenCL)]
    public void AMissingGpuIsAnErrorNamingTheDevice(DeviceKind kind)
    {
        int present = IlgpuContext.Describe().Count(d => d.Device.Kind == kind);
        var missing = new Device(kind, present);
        var e = Assert.Throws<InvalidOperationException>(() => IlgpuContext.Accelerator(missing))!;
        Assert.That(e.Message, Does.StartWith($"{missing}: no such device"));
    }

    [Test]
    public void TheEmulatedDeviceRunsLargeGroupsOnItsWideAcceleratorOverTheSameMemory()
    {
        // Tensors live on the one-warp accelerator; a 64 x 64 GEMM tile (16 x 16 threads) cannot
        // run there, so it runs on the wide twin, reading and writing the narrow one's buffers.
        var narrow = IlgpuContext.Accelerator(Device.Emulated);
        var wide = IlgpuContext.EmulatedWide(narrow)!;
        Assert.That(narrow.MaxNumThreadsPerGroup, Is.EqualTo(IlgpuContext.EmulatedNarrowGroup));
        Assert.That(wide.MaxNumThreadsPerGroup, Is.EqualTo(IlgpuContext.EmulatedWarpSize * IlgpuContext.EmulatedWarpsPerGroup));
        Assert.That(IlgpuContext.EmulatedWide(wide), Is.Null, "the wide accelerator is not itself a device's accelerator");

        using var a = Tensor.Uniform([70, 40], generator: new Generator(3));
        using var b = Tensor.Uniform([40, 66], generator: new Generator(4));
        using var expected = a.MatMul(b);
        using var ae = a.To(Device.Emulated);
        using var be = b.To(Device.Emulated);
        Assert.That(GpuMatMul.Choose(IlgpuBackend.For(Device.Emulated), DType.Float32, 70, 66, 40, allowTf32: false), Is.EqualTo(GpuMatMul.Path.Tiled));
        using var product = ae.MatMul(be);
        using var back = product.To(Device.Cpu);
        using var plusOne = product + 1;   // an elementwise launch on the narrow accelerator after the wide one
        using var sum = plusOne.To(Device.Cpu);
        Assert.That(back.ToArray<float>(), Is.EqualTo(expected.ToArray<float>()).Within(1e-4f));
        Assert.That(sum.ToArray<float>()[0], Is.EqualTo(expected.ToArray<float>()[0] + 1).Within(1e-4f));
    }

    [Test]
    public void OnlyOneEmulatedDeviceExists()
    {
        var e = Assert.Throws<InvalidOperationException>(() => IlgpuContext.Accelerator(new Device(DeviceKind.Emulated, 1)))!;
        Assert.That(e.Message, Does.Contain("one emulated device"));
    }
}
