namespace Tensorium.Tests.Support;

/// <summary>
/// The devices the shared op suite runs on: the CPU always, plus every OpenCL and CUDA device
/// present (PoCL, which ./build.sh test installs, makes OpenCL present on a machine without a
/// GPU, so every GPU kernel runs in CI). Op test fixtures take a <see cref="Device"/> through
/// [TestFixtureSource].
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
        if (string.IsNullOrWhiteSpace(names)) return Device.Available().Select(d => d.Device);
        return names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Device.Parse).ToList();
    }

    /// <summary>Every device but the CPU: for fixtures that check a GPU backend against the CPU's results.</summary>
    public static IEnumerable<Device> Gpus() => All().Where(d => d != Device.Cpu);
}
