namespace Tensorium.Tests.Support;

/// <summary>
/// The devices the shared op suite runs on: every device <see cref="Device.Available"/> lists, which
/// is the CPU, the emulated device (ILGPU's CPU accelerator, always present) and each CUDA or
/// OpenCL device ILGPU finds. So the GPU backend's kernels run in CI on a machine without a GPU,
/// and on a GPU machine the same suite runs on the GPU too. On the emulated device every launch
/// is a rendezvous of host threads, so the suite keeps it affordable: awkward shapes are smaller
/// there (<see cref="Ref.AwkwardShape"/>) and gradient checks perturb a sample of each input
/// (<see cref="Reference.GradientSamplesOffCpu"/>); the CPU fixture of each test checks in full.
/// Op test fixtures take a <see cref="Device"/> through [TestFixtureSource].
/// The environment variable <c>TENSORIUM_TEST_DEVICES</c>, when set, replaces that list with
/// the devices it names, comma-separated in <see cref="Device.Parse"/>'s form: for example
/// <c>TENSORIUM_TEST_DEVICES=cpu</c> runs the suite on the CPU alone, and
/// <c>TENSORIUM_TEST_DEVICES=cuda:0</c> on one GPU.
/// </summary>
public static class Devices
{
    /// <summary>The environment variable that overrides the device list.</summary>
    public const string Override = "TENSORIUM_TEST_DEVICES";

    /// <summary>Every device the suite runs on (see the class summary).</summary>
    public static IEnumerable<Device> All()
    {
        string? names = Environment.GetEnvironmentVariable(Override);
        if (string.IsNullOrWhiteSpace(names)) return Device.Available().Select(d => d.Device);
        return names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Device.Parse).ToList();
    }

    /// <summary>
    /// Every device of <see cref="All"/> but the CPU: for the fixtures that check the GPU backend
    /// against the CPU's results on small shapes chosen to reach each kernel variant (Tests/Kernels).
    /// </summary>
    public static IEnumerable<Device> Gpus() => All().Where(d => d != Device.Cpu);
}
