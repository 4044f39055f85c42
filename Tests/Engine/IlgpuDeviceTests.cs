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
    public void OnlyOneEmulatedDeviceExists()
    {
        var e = Assert.Throws<InvalidOperationException>(() => IlgpuContext.Accelerator(new Device(DeviceKind.Emulated, 1)))!;
        Assert.That(e.Message, Does.Contain("one emulated device"));
    }
}
