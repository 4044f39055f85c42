namespace Tensorium.Tests.Support;

/// <summary>
/// The devices the shared op suite runs on: the CPU and each CUDA or OpenCL device ILGPU finds.
/// The emulated device (ILGPU's CPU accelerator) is left out by default: the whole op suite on it
/// takes well over the suite's 10-minute budget on 2 cores (every group barrier is a host-thread
/// rendezvous), so CI runs the GPU kernels on it through Tests/Kernels/Gpu instead, with the
/// smallest shapes that reach each kernel variant (and <see cref="Gpus"/>'s fixtures). Op test fixtures take a <see cref="Device"/>
/// through [TestFixtureSource].
/// The environment variable <c>TENSORIUM_TEST_DEVICES</c>, when set, replaces that list with
/// the devices it names, comma-separated in <see cref="Device.Parse"/>'s form: for example
/// <c>TENSORIUM_TEST_DEVICES=cpu,emulated</c> runs the suite on the CPU and on ILGPU's CPU
/// accelerator, the way to test ILGPU kernels on a machine without a GPU.
/// </summary>
public static class Devices
{
    /// <summary>The environment variable that overrides the device list.</summary>
    public const string Override = "TENSORIUM_TEST_DEVICES";

    public static IEnumerable<Device> All()
    {
        string? names = Environment.GetEnvironmentVariable(Override);
        if (string.IsNullOrWhiteSpace(names)) return Device.Available().Select(d => d.Device).Where(d => d != Device.Emulated);
        return names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Device.Parse).ToList();
    }

    /// <summary>
    /// Every device but the CPU, and the emulated device even when <see cref="All"/> leaves it out:
    /// for the fixtures that check the GPU backend against the CPU's results on small shapes
    /// chosen to reach each kernel variant (Tests/Kernels). <c>TENSORIUM_TEST_DEVICES</c>, when
    /// set, is taken as it is.
    /// </summary>
    public static IEnumerable<Device> Gpus()
    {
        var gpus = All().Where(d => d != Device.Cpu).ToList();
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Override)) && !gpus.Contains(Device.Emulated))
            gpus.Add(Device.Emulated);
        return gpus;
    }
}
